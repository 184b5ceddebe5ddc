// A docker live client for browsers (and Node 22+, or Node 20 with
// --experimental-websocket): it follows the stream over the TCP listener and
// resumes after a lost connection. Browsers cannot set headers on a
// WebSocket handshake, so the token travels in ?token=. With history (true
// or a duration such as "2m") the streamer first sends the recent stats of
// each container; after a reconnect, only what was missed.
export function follow(base, token, onMessage, history) {
  const sequenced = new Set(["snapshot", "container", "remove", "event", "engine"]);
  let since = null;
  let statsAt = null; // the "time" of the newest stats message
  let wait = 100;
  let stopped = false;
  let ws;
  const connect = () => {
    ws = new WebSocket(`${base}/v1/stream?token=${encodeURIComponent(token)}`);
    ws.onopen = () => {
      const subscribe = { protocol: 1, topics: ["containers", "stats"] };
      if (since) subscribe.since = since;
      if (history) {
        subscribe.history = history;
        if (statsAt) subscribe.history_since = statsAt;
      }
      ws.send(JSON.stringify({ type: "subscribe", subscribe }));
    };
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === "hello") {
        wait = 100;
        if (!m.hello.resumed) since = { epoch: m.epoch, seq: m.seq };
      }
      if (sequenced.has(m.type)) since = { epoch: m.epoch, seq: m.seq };
      if (m.type === "stats") statsAt = m.time;
      onMessage(m);
    };
    ws.onclose = (ev) => {
      if (stopped) return;
      if (ev.code === 4002 || ev.code === 4003) {
        onMessage({ type: "closed", code: ev.code, reason: ev.reason }); // retrying cannot help
        return;
      }
      setTimeout(connect, wait);
      wait = Math.min(wait * 2, 5000);
    };
  };
  connect();
  return () => { stopped = true; ws.close(); };
}
