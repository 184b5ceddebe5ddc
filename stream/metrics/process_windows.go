package metrics

import "golang.org/x/sys/windows"

// processFamilies reports the CPU time and the start time from
// GetProcessTimes, as client_golang does on Windows (which adds memory and
// handle counts from calls x/sys/windows does not wrap).
func processFamilies() []family {
	var created, exited, kernel, user windows.Filetime
	if windows.GetProcessTimes(windows.CurrentProcess(), &created, &exited, &kernel, &user) != nil {
		return nil
	}
	seconds := func(ft windows.Filetime) float64 { // 100 ns units
		return float64(uint64(ft.HighDateTime)<<32|uint64(ft.LowDateTime)) / 1e7
	}
	return []family{
		one("process_cpu_seconds_total", helpProcessCPU, counter, seconds(kernel)+seconds(user)),
		one("process_start_time_seconds", helpProcessStart, gauge, float64(created.Nanoseconds()/1e9)),
	}
}
