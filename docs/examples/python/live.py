#!/usr/bin/env python3
"""A small docker live client over the Unix socket, with resume.

    apt-get install python3-websockets    # or: pip install websockets
    python3 live.py "$(docker live status --format json | jq -r .socket)" [SECONDS [LABEL [HISTORY]]]

HISTORY is "true" (all the streamer keeps) or a duration such as "2m".
"""
import asyncio
import json
import sys
import time

import websockets

SEQUENCED = {"snapshot", "container", "remove", "event", "engine"}


async def main(socket, seconds, label, history):
    end = time.monotonic() + seconds if seconds else None
    since, wait = None, 0.1
    stats_at = None  # the "time" of the newest stats message applied
    while end is None or time.monotonic() < end:
        try:
            async with websockets.unix_connect(socket, "ws://docker-live/v1/stream") as ws:
                sub = {"protocol": 1, "topics": ["containers", "stats"], "stats_interval": "2s"}
                if label:
                    sub["filter"] = {"labels": [label]}
                if since:
                    sub["since"] = since
                if history:
                    sub["history"] = True if history == "true" else history
                    if stats_at:
                        sub["history_since"] = stats_at  # on a resume: only what was missed
                await ws.send(json.dumps({"type": "subscribe", "subscribe": sub}))
                while True:
                    left = None if end is None else end - time.monotonic()
                    m = json.loads(await asyncio.wait_for(ws.recv(), left))
                    t = m["type"]
                    if t == "hello":
                        wait = 0.1
                        print("hello seq=%d resumed=%s" % (m["seq"], m["hello"]["resumed"]))
                        if not m["hello"]["resumed"]:
                            since = {"epoch": m["epoch"], "seq": m["seq"]}
                    elif t == "snapshot":
                        print("snapshot resync=%s: %d containers" % (
                            m["snapshot"]["resync"], len(m["snapshot"]["containers"])))
                    elif t == "container":
                        print("seq=%d %s is %s" % (m["seq"], m["container"]["name"], m["container"]["state"]))
                    elif t == "remove":
                        print("seq=%d %s removed" % (m["seq"], m["remove"]["name"]))
                    elif t == "history":
                        for h in m["history"]["containers"]:
                            cpu = [v for v in h["cpu_percent"] if v is not None]  # None: no sample
                            if cpu:
                                print("history %s %d samples from %s every %s: cpu avg=%.1f%% max=%.1f%%" % (
                                    h["id"][:12], len(cpu), h["start"], m["history"]["step"],
                                    sum(cpu) / len(cpu), max(cpu)))
                    elif t == "stats":
                        stats_at = m["time"]
                        for s in m.get("stats", []):  # an empty batch has no "stats" field
                            print("stats %s cpu=%.1f%% mem=%d" % (s["id"][:12], s["cpu_percent"], s["mem_usage"]))
                    elif t == "error":
                        print("error %(code)s: %(message)s" % m["error"])  # a close frame follows
                    if t in SEQUENCED:
                        since = {"epoch": m["epoch"], "seq": m["seq"]}
        except asyncio.TimeoutError:
            return
        except websockets.ConnectionClosed as e:
            code, reason = (e.rcvd.code, e.rcvd.reason) if e.rcvd else (1006, "no close frame")
            if code in (4002, 4003):
                sys.exit("refused: %s" % reason)  # retrying cannot help
            print("closed %s %s; resuming" % (code, reason))
        except OSError as e:
            print("cannot connect: %s" % e)
        await asyncio.sleep(wait)
        wait = min(wait * 2, 5)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0,
                     sys.argv[3] if len(sys.argv) > 3 else None,
                     sys.argv[4] if len(sys.argv) > 4 else None))
