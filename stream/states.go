package stream

// IsActive reports the states docker ps lists without -a: running, paused
// and restarting.
func IsActive(state string) bool {
	return state == "running" || state == "paused" || state == "restarting"
}
