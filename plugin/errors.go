package plugin

import "strings"

// oneLine flattens an error to a single line, so that users get one clear
// line and never a multi-line dump.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
