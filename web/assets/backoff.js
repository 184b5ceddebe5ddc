// The reconnect schedule of stream/backoff.go: exponential from 100 ms to
// 5 s, each delay drawn from the upper half of its step so that many pages
// of one restarted streamer do not come back in step.
export const minBackoff = 100;
export const maxBackoff = 5000;

export function backoffDelay(attempt, random = Math.random) {
  let d = maxBackoff;
  if (attempt >= 0 && attempt < 32) {
    const x = minBackoff * 2 ** attempt;
    if (x < maxBackoff) d = x;
  }
  const half = Math.floor(d / 2);
  return half + Math.floor(random() * (d - half + 1));
}
