//go:build !unix

package hub

// allocHistRing allocates a container's ring on the Go heap (see the unix
// version for why it is mapped outside the heap there).
func allocHistRing(n int) (ring []histSample, free func()) {
	return make([]histSample, n), nil
}
