package stream

import "github.com/moby/moby/api/types/events"

// Sink receives what a Source learns from the Engine. The hub implements it;
// tests implement it to record. Calls come from the source's goroutines, so
// implementations must be safe for concurrent use.
type Sink interface {
	// EngineStatus reports the connection to the Engine.
	EngineStatus(st EngineStatus)
	// Reset replaces the whole container set after (re)listing. The sink
	// diffs it against what it holds and emits what changed in between.
	Reset(containers []Container)
	// Upsert sets one container's state (created or changed).
	Upsert(c Container)
	// Remove drops a destroyed container.
	Remove(id string)
	// Event passes one Engine event on, exactly as received.
	Event(ev events.Message)
	// Stats delivers one computed sample.
	Stats(s Stats)
}
