package streamer

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// forbiddenInStreamer are the modules the long-lived streamer must not
// link: docker/cli and what its package initialisation pulls in (gRPC,
// protobuf, the OpenTelemetry SDK and exporters, cobra, logrus). Their
// pages would sit in every streamer's resident memory (issue 14). The
// OpenTelemetry API packages (otel, otel/trace, otelhttp) stay: the
// Engine client (moby/moby/client) imports them, and without an SDK they
// are no-ops. /metrics writes its own exposition (stream/metrics), so
// Prometheus' client library, its protobuf data model and procfs stay out
// too: about 2.5 MB of binary (the plugin binary may link them).
var forbiddenInStreamer = []string{
	"github.com/docker/cli",
	"google.golang.org/grpc",
	"go.opentelemetry.io/otel/sdk",
	"go.opentelemetry.io/otel/exporters",
	"go.opentelemetry.io/proto",
	"github.com/spf13/cobra",
	"github.com/sirupsen/logrus",
	"github.com/prometheus/client_golang",
	"github.com/prometheus/client_model",
	"github.com/prometheus/common",
	"github.com/prometheus/procfs",
	"google.golang.org/protobuf",
}

// TestStreamerLinksNoDockerCLI guards the split: neither this package nor
// the streamer binary may depend on a forbidden module, on any platform.
func TestStreamerLinksNoDockerCLI(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Fatal("the go command is needed to list the streamer's imports")
		}
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		cmd := exec.Command(goBin, "list", "-deps", "./", "../cmd/docker-live-streamer")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps (GOOS=%s): %v", goos, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, bad := range forbiddenInStreamer {
				if pkg == bad || strings.HasPrefix(pkg, bad+"/") {
					t.Errorf("GOOS=%s: the streamer links %s (from module %s); it must stay out (docs/architecture.md \"What the streamer links\")", goos, pkg, bad)
				}
			}
		}
	}
}
