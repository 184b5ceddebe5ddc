package source

import "time"

// LastStatsPass is how long the direct (cgroup) source's newest pass over
// every container took; ok is false before the first pass, and always with
// --stats-source api, which polls each container on its own schedule.
func (s *Source) LastStatsPass() (d time.Duration, ok bool) {
	s.collMu.Lock()
	coll := s.coll
	s.collMu.Unlock()
	cc, isDirect := coll.(*cgroupCollector)
	if !isDirect {
		return 0, false
	}
	ns := cc.lastPass.Load()
	return time.Duration(ns), ns > 0
}
