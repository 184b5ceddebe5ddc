//go:build !linux

package cgroup

const supported = false

func readFile(path []byte, buf *[]byte) ([]byte, error) { return nil, errUnsupported }

func readPrefix(path []byte, buf *[]byte, done func([]byte) bool) ([]byte, error) {
	return nil, errUnsupported
}
