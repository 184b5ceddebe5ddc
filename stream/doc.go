// Package stream holds what the streamer's parts and its clients share,
// with no Engine, network or terminal code of its own:
//
//   - the wire contract (protocol.go, documented in docs/protocol.md): the
//     messages, the Container and Stats they carry, the subscription and
//     its ContainerFilter;
//   - the one meaning of a container filter (ContainerMatcher, NameMatcher),
//     used by the hub for subscriptions and by the CLI for --filter;
//   - container states: IsActive (what docker ps lists without -a) and
//     StatusText (docker ps' STATUS column);
//   - the Sink interface between an Engine source and the hub;
//   - Backoff, the retry spacing of every reconnect.
//
// The streamer itself lives in the packages below: source (the Engine
// side), stats and cgroup (the numbers), hub (the state and its fan-out),
// server (WebSocket and snapshot), and liveclient (the commands' client
// with its polling fallback).
package stream
