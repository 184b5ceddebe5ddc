//go:build race

package cgroup

const raceEnabled = true
