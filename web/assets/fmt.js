// Units as docker stats and `docker live watch` print them.
const binaryUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
const decimalUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

function finite(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

// scaled matches go-units' CustomSize with "%.<prec>g%s".
function scaled(size, base, names, prec) {
  size = finite(size);
  let i = 0;
  while (size >= base && i < names.length - 1) {
    size /= base;
    i++;
  }
  return String(Number(size.toPrecision(prec))) + names[i];
}

export const binarySize = (v) => scaled(v, 1024, binaryUnits, 4);
export const decimalSize = (v) => scaled(v, 1000, decimalUnits, 3);
export const rate = (v) => decimalSize(Math.max(0, finite(v))) + "/s";
export const percent = (v) => finite(v).toFixed(2) + "%";

export function uptime(ms) {
  let s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + "s";
  let big, bu, small, su;
  if (s < 3600) [big, bu, small, su] = [Math.floor(s / 60), "m", s % 60, "s"];
  else if (s < 86400) [big, bu, small, su] = [Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "m"];
  else [big, bu, small, su] = [Math.floor(s / 86400), "d", Math.floor((s % 86400) / 3600), "h"];
  return big + bu + (small > 0 ? small + su : "");
}

export function clock(date) {
  const p = (n) => String(n).padStart(2, "0");
  return `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

// stateText is the STATE column: "running (healthy)", "exited (137)".
export function stateText(c) {
  if (!c.state) return "--";
  if (c.state === "running" && c.health) return `running (${c.health})`;
  if (c.state === "exited") return `exited (${c.exit_code ?? 0})`;
  return c.state;
}

// live: the container has processes whose numbers mean something now.
export const live = (state) => state === "running" || state === "paused";
