//go:build !linux

package plugin

import "runtime/debug"

const streamerMemoryLimit = 12 << 20

// trimStreamerMemory only caps the heap where /proc/self/maps is unknown.
func trimStreamerMemory() { debug.SetMemoryLimit(streamerMemoryLimit) }
