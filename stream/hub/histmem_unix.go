//go:build unix

package hub

import (
	"syscall"
	"unsafe"
)

// allocHistRing maps a container's ring outside the Go heap. The rings are
// the streamer's largest long-lived data (200 containers x 5 minutes is
// 2.7 MiB), fixed in size, pointer-free and freed at one known moment (the
// container's removal), so the GC gains nothing from owning them: on its
// heap they would only raise its goal, and GOGC lets the heap grow to about
// twice its live size, rings included. It falls back to the heap if the
// mapping fails. free, when not nil, unmaps the ring.
func allocHistRing(n int) (ring []histSample, free func()) {
	size := n * HistorySampleBytes
	if size == 0 {
		return nil, nil
	}
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]histSample, n), nil
	}
	ring = unsafe.Slice((*histSample)(unsafe.Pointer(unsafe.SliceData(mem))), n)
	return ring, func() { _ = syscall.Munmap(mem) }
}
