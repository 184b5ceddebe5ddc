//go:build !unix && !windows

package metrics

// processFamilies reports nothing where the process cannot be read.
func processFamilies() []family { return nil }
