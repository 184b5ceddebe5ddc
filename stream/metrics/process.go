package metrics

// The process_* families describe the streamer process itself, with the
// names, help texts and values of client_golang's process collector
// (pinned against it in process_linux_test.go), so dashboards made for any
// Go exporter read them. Each platform's file reports what it can read
// without cgo: all of them on Linux, fewer elsewhere.

const (
	helpProcessCPU      = "Total user and system CPU time spent in seconds."
	helpProcessOpenFDs  = "Number of open file descriptors."
	helpProcessMaxFDs   = "Maximum number of open file descriptors."
	helpProcessVsize    = "Virtual memory size in bytes."
	helpProcessMaxVsize = "Maximum amount of virtual memory available in bytes."
	helpProcessRSS      = "Resident memory size in bytes."
	helpProcessStart    = "Start time of the process since unix epoch in seconds."
	helpProcessNetIn    = "Number of bytes received by the process over the network."
	helpProcessNetOut   = "Number of bytes sent by the process over the network."
)

// one is a family of a single unlabelled sample.
func one(name, help string, typ metricType, v float64) family {
	return family{name: name, help: help, typ: typ, samples: []sample{{value: v}}}
}
