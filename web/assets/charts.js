// Line charts as inline SVG polylines (no library): the sparklines of each
// row and the larger charts of the detail pane.
const svgNS = "http://www.w3.org/2000/svg";

export function makeSvg(cls, viewW, viewH) {
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("class", cls);
  svg.setAttribute("viewBox", `0 0 ${viewW} ${viewH}`);
  svg.setAttribute("preserveAspectRatio", "none");
  return svg;
}

export function line(svg, cls) {
  const p = document.createElementNS(svgNS, "polyline");
  p.setAttribute("class", cls);
  svg.appendChild(p);
  return p;
}

// points lays out the last `slots` values of series (NaN: a gap, drawn at
// 0) over width x height, scaled to max; when the series is longer than
// slots, each slot takes the largest value of its bucket, so that a spike
// is never averaged away.
export function points(series, slots, width, height, max) {
  const n = series.length;
  if (n === 0) return "";
  const per = Math.max(1, Math.ceil(n / slots));
  const count = Math.ceil(n / per);
  const step = count > 1 ? width / (slots - 1) : 0;
  const x0 = width - (count - 1) * step;
  let out = "";
  for (let i = 0; i < count; i++) {
    let v = 0;
    for (let j = i * per; j < Math.min(n, (i + 1) * per); j++) {
      const x = series[j];
      if (x > v) v = x;
    }
    const y = height - (max > 0 ? Math.min(v, max) / max : 0) * (height - 1) - 0.5;
    out += (x0 + i * step).toFixed(1) + "," + y.toFixed(1) + " ";
  }
  return out;
}

export function seriesMax(...series) {
  let m = 0;
  for (const s of series) for (const v of s) if (v > m) m = v;
  return m;
}
