package streamer

// IsZombie: macOS has no /proc to read a process state from. An exited
// streamer that is not reaped yet counts as running until stopWait ends;
// its parent, a docker command that only waited for "ready", is gone by
// then, and launchd reaps orphans at once.
func IsZombie(pid int) bool { return false }

// HoldsLock: macOS has no /proc/locks, so a streamer is only verified by
// answering /v1/health with its own PID (a stopped one that does not answer
// is left alone, and its info.json kept, rather than a PID trusted blindly).
func HoldsLock(pid int, path string) bool { return false }
