package cgroup

import (
	"bytes"
	"errors"
)

var errUnsupported = errors.New("cgroup: direct stats need Linux")

// nextLine splits off the first line of b.
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// nextField splits off the first space-separated field of b.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	j := i
	for j < len(b) && !isSpace(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

// parseUint reads a decimal counter. A negative number reads as 0, as the
// Engine's cgroup library does (some kernels print -1 for "none").
func parseUint(b []byte) (uint64, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		return 0, true
	}
	return v, true
}

// parseLimit is parseUint that also takes cgroup v2's "max" (no limit).
func parseLimit(b []byte) (uint64, bool) {
	if string(bytes.TrimSpace(b)) == "max" {
		return 1<<64 - 1, true
	}
	return parseUint(b)
}

// cpath turns a path into the NUL-terminated form readPrefix takes.
func cpath(parts ...string) []byte {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return append(b, 0)
}

// pathOf is the printable form of a cpath, for errors.
func pathOf(p []byte) string { return string(p[:len(p)-1]) }

// Op names of blkio entries, interned so parsing a record allocates no
// strings for them.
func blkioOp(b []byte) string {
	switch string(b) {
	case "Read":
		return "Read"
	case "Write":
		return "Write"
	case "Sync":
		return "Sync"
	case "Async":
		return "Async"
	case "Discard":
		return "Discard"
	case "Total":
		return "Total"
	case "":
		return ""
	}
	return string(b)
}
