// The page's connection to its streamer: the WebSocket of docs/protocol.md
// with resume by position, the reconnect schedule of stream/backoff.go, and
// a fallback that polls GET /v1/snapshot while the WebSocket cannot be
// opened (a proxy that refuses Upgrade) but the streamer answers. It keeps
// trying the WebSocket meanwhile and goes back to live by itself.
import { backoffDelay } from "./backoff.js";

// Messages that advance the position (seq); hello, snapshot-less stats and
// history never do.
const sequenced = new Set(["snapshot", "container", "remove", "event", "engine"]);
export const pollInterval = 1000; // the streamer's stats flush period
// Handshakes that fail before the WebSocket opens, in a row, before the
// snapshot is tried: one failure may be a streamer that is restarting.
const failuresBeforePolling = 2;
const signedOutText = "signed out (the token changed): run docker live open";

export class Connection {
  // handlers: message(m), document(doc), mode({mode, attempt, nextTry, reason}),
  // wantHistory() -> bool (for the first poll of a polling spell).
  constructor(handlers) {
    this.h = handlers;
    this.since = null; // {epoch, seq}: the last sequenced message applied
    this.statsAt = null; // the "time" of the newest stats message
    this.attempt = 0;
    this.failStreak = 0;
    this.ws = null;
    this.live = false;
    this.polling = false;
    this.pollTimer = 0;
    this.pollBusy = false;
    this.replayed = null; // the epoch whose ring was asked for from seq 0
    this.replayPending = false;
    this.stopped = false;
  }

  start() {
    this.h.mode({ mode: "connecting" });
    this.connect();
  }

  url() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/stream";
  }

  send(ws, since, history) {
    const sub = { protocol: 1 };
    if (since) sub.since = since;
    if (history) {
      sub.history = true;
      if (since && this.statsAt) sub.history_since = this.statsAt;
    }
    ws.send(JSON.stringify({ type: "subscribe", subscribe: sub }));
  }

  connect() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.failed(false);
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.send(ws, this.since, true);
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.receive(ws, m);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.live = false;
      if (ev.code === 4002 || ev.code === 4003) {
        // Retrying the same request cannot help.
        this.stopped = true;
        this.h.mode({ mode: "refused", reason: ev.reason || "close " + ev.code });
        return;
      }
      this.failed(opened);
    };
  }

  receive(ws, m) {
    switch (m.type) {
      case "hello":
        this.live = true;
        this.signedOut = false;
        this.attempt = 0;
        this.failStreak = 0;
        this.stopPolling();
        if (!m.hello.resumed) {
          this.since = { epoch: m.epoch, seq: m.seq };
          // Once per streamer run: after the snapshot and history, ask for
          // the run's ring from its start, so that events made before this
          // page (or while it was away from a restarted streamer) show.
          this.replayPending = this.replayed !== m.epoch;
        }
        this.h.mode({ mode: "live" });
        break;
      case "stats":
        this.statsAt = m.time;
        break;
    }
    if (sequenced.has(m.type)) this.since = { epoch: m.epoch, seq: m.seq };
    this.h.message(m);
    if (m.type === "history" && this.replayPending) {
      this.replayPending = false;
      this.replayed = m.epoch;
      this.send(ws, { epoch: m.epoch, seq: 0 }, false);
    }
  }

  failed(opened) {
    if (this.stopped) return;
    if (!opened) this.failStreak++;
    const delay = backoffDelay(this.attempt);
    this.attempt++;
    const nextTry = performance.now() + delay;
    setTimeout(() => this.connect(), delay);
    if (this.polling) return; // still polling: say so, not reconnecting
    if (this.signedOut) {
      // The streamer answers but no longer takes this browser's session
      // (a new token): keep trying, in case another tab signs in again.
      this.h.mode({ mode: "refused", reason: signedOutText });
    } else {
      this.h.mode({ mode: "reconnecting", attempt: this.attempt, nextTry });
    }
    if (this.failStreak >= failuresBeforePolling) this.poll();
  }

  // poll fetches one snapshot document; the first success starts polling,
  // a failure ends it (the streamer itself is gone: reconnecting).
  async poll() {
    if (this.pollBusy || this.live) return;
    this.pollBusy = true;
    let doc = null;
    try {
      const q = "/v1/snapshot?all=1" + (this.h.wantHistory() ? "&history=1" : "");
      const resp = await fetch(q, { cache: "no-store", credentials: "same-origin" });
      this.signedOut = resp.status === 401;
      if (resp.ok) doc = await resp.json();
    } catch {
      doc = null;
    }
    this.pollBusy = false;
    if (this.live) return;
    if (!doc) {
      if (this.signedOut) {
        this.stopPolling();
        this.h.mode({ mode: "refused", reason: signedOutText });
      } else if (this.polling) {
        this.stopPolling();
        this.h.mode({ mode: "reconnecting", attempt: this.attempt, nextTry: performance.now() });
      }
      return;
    }
    if (!this.polling) {
      this.polling = true;
      this.h.mode({ mode: "polling" });
    }
    this.h.document(doc);
    // The document's samples are applied: a resume asks history only
    // from here (history_since), so no second is drawn twice.
    this.statsAt = doc.time;
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => this.poll(), pollInterval);
  }

  stopPolling() {
    this.polling = false;
    clearTimeout(this.pollTimer);
    this.pollTimer = 0;
  }
}
