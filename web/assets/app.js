// The docker live page: a live container table with sparklines, a detail
// pane and an events pane, fed by conn.js. Everything from the Engine is
// user data (names, labels, commands) and reaches the DOM as textContent or
// attribute values only, never as HTML. Messages update the model at once;
// the DOM follows once per animation frame.
import { Connection } from "./conn.js";
import { binarySize, decimalSize, rate, percent, uptime, clock, stateText, live } from "./fmt.js";
import { makeSvg, line, points, seriesMax } from "./charts.js";

const historyLen = 300; // 5 minutes of 1 s samples
const maxEvents = 500;
const sparkSlots = 60;
const $ = (id) => document.getElementById(id);

// ---- model ----------------------------------------------------------------

const model = {
  containers: new Map(), // id -> entry
  engine: { state: "" },
  context: "",
  updated: null,
  conn: { mode: "connecting" },
  stateEpoch: null, // the position the container state reflects
  stateSeq: 0,
  haveHistory: false,
  rowsWritten: -Infinity, // performance.now() of the last batch that wrote every row
  resumed: false, // the current subscription resumed (history appends)
  sort: { key: "name", dir: 1 },
  filter: "",
  all: false,
  group: true,
  selected: null,
  events: [], // newest last
  eventKeys: new Set(),
  evType: "",
  evAction: "",
};

const metrics = ["cpu", "mem", "rx", "tx", "br", "bw"];

function entry(id) {
  let e = model.containers.get(id);
  if (!e) {
    e = { id, c: { id }, s: null, hist: {}, prevBlock: null, row: null, stateShown: "" };
    for (const k of metrics) e.hist[k] = [];
    model.containers.set(id, e);
  }
  return e;
}

function push(arr, v) {
  arr.push(v);
  if (arr.length > historyLen) arr.splice(0, arr.length - historyLen);
}

// addSample records one live sample: the table's numbers and one point of
// each series (block rates from consecutive totals, as the history has).
function addSample(e, s) {
  let br = 0;
  let bw = 0;
  if (e.prevBlock && s.read && e.prevBlock.read) {
    const dt = (Date.parse(s.read) - Date.parse(e.prevBlock.read)) / 1000;
    if (dt > 0) {
      br = Math.max(0, (s.block_read - e.prevBlock.block_read) / dt);
      bw = Math.max(0, (s.block_write - e.prevBlock.block_write) / dt);
    }
  }
  e.prevBlock = { read: s.read, block_read: s.block_read || 0, block_write: s.block_write || 0 };
  e.s = s;
  push(e.hist.cpu, s.cpu_percent || 0);
  push(e.hist.mem, s.mem_usage || 0);
  push(e.hist.rx, s.net_rx_rate || 0);
  push(e.hist.tx, s.net_tx_rate || 0);
  push(e.hist.br, br);
  push(e.hist.bw, bw);
  e.sparkDirty = true;
}

// setContainer applies a container's new state and tells whether the table
// shows it (before or after): only then is the change urgent.
function setContainer(c) {
  const e = entry(c.id);
  const shownBefore = !!(e.row && e.row.tr.isConnected);
  const before = e.c.state;
  e.c = c;
  if (!live(c.state)) {
    e.s = null;
    e.prevBlock = null;
  }
  if (before && before !== c.state) e.flash = true;
  markRow(e);
  render.structure = true;
  return shownBefore || visible(e);
}

function removeContainer(id) {
  const e = model.containers.get(id);
  if (!e) return false;
  const shown = !!(e.row && e.row.tr.isConnected);
  if (e.row) inView.unobserve(e.row.tr);
  model.containers.delete(id);
  if (e.row) render.gone.push(e.row);
  if (model.selected === id) model.selected = null;
  render.structure = true;
  render.detail = true;
  return shown;
}

function applySnapshot(epoch, seq, snap, time) {
  const seen = new Set();
  for (const c of snap.containers || []) {
    seen.add(c.id);
    const stats = c.stats;
    delete c.stats;
    setContainer(c);
    if (stats) addSample(entry(c.id), stats);
  }
  for (const id of [...model.containers.keys()]) if (!seen.has(id)) removeContainer(id);
  model.stateEpoch = epoch;
  model.stateSeq = seq;
  model.rowsWritten = performance.now();
  if (snap.engine) model.engine = snap.engine;
  touched(time);
}

// applyHistory fills the series from a history message or document: the
// whole window after a snapshot, only the missed seconds after a resume.
function applyHistory(h, append) {
  for (const ch of h.containers || []) {
    const e = model.containers.get(ch.id);
    if (!e) continue;
    const series = {
      cpu: ch.cpu_percent, mem: ch.mem_usage, rx: ch.net_rx_rate, tx: ch.net_tx_rate,
      br: ch.block_read_rate, bw: ch.block_write_rate,
    };
    for (const k of metrics) {
      const vals = (series[k] || []).map((v) => (v == null ? NaN : v));
      if (append) for (const v of vals) push(e.hist[k], v);
      else e.hist[k] = vals.slice(-historyLen);
    }
    e.sparkDirty = true;
    markRow(e);
  }
  model.haveHistory = true;
  render.detail = true;
}

function applyStats(batch, time) {
  const got = new Set();
  for (const s of batch || []) {
    const e = model.containers.get(s.id);
    if (!e) continue;
    got.add(s.id);
    addSample(e, s);
    markRow(e);
  }
  // A batch is complete: a running container missing from it has no
  // current sample.
  for (const e of model.containers.values()) {
    if (e.s && !got.has(e.id)) {
      e.s = null;
      markRow(e);
    }
  }
  model.rowsWritten = performance.now();
  // Sorting by a number moves rows; groups show totals: both follow each
  // batch (the order is compared before anything moves).
  if (model.group || (model.sort.key !== "name" && model.sort.key !== "state")) render.structure = true;
  render.detail = true;
  touched(time);
}

// addEvent shows an event once: a replay after a reconnect or the ring's
// replay from seq 0 repeats seqs the page has, which are skipped.
function addEvent(m) {
  const key = m.epoch + ":" + m.seq;
  if (model.eventKeys.has(key)) return;
  model.eventKeys.add(key);
  const item = { key, ev: m.event, li: null };
  model.events.push(item);
  render.newEvents.push(item);
  while (model.events.length > maxEvents) {
    const old = model.events.shift();
    model.eventKeys.delete(old.key);
    if (old.li) old.li.remove();
  }
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function touched(time) {
  model.updated = time ? new Date(time) : new Date();
  render.header = true;
}

function applied(m) {
  // Container state already reflected by the snapshot (or document) the
  // page holds is not applied again: a replay from before it would only
  // flicker rows through old states.
  return m.epoch === model.stateEpoch && m.seq <= model.stateSeq;
}

function onMessage(m) {
  switch (m.type) {
    case "hello":
      model.context = m.hello.context;
      model.engine = m.hello.engine || model.engine;
      model.resumed = !!m.hello.resumed;
      render.header = true;
      break;
    case "snapshot":
      applySnapshot(m.epoch, m.seq, m.snapshot, m.time);
      break;
    case "history":
      applyHistory(m.history, model.resumed && model.haveHistory);
      break;
    // A container the table does not show (filtered out) changes only
    // the count: on a busy Engine such changes come many a second, and a
    // frame each would cost more than all the rows shown.
    case "container":
      touched(m.time);
      if (applied(m) || !setContainer(m.container)) {
        scheduleSoon();
        return;
      }
      break;
    case "remove":
      touched(m.time);
      if (applied(m) || !removeContainer(m.remove.id)) {
        scheduleSoon();
        return;
      }
      break;
    case "stats":
      applyStats(m.stats, m.time);
      break;
    case "event":
      addEvent(m);
      touched(m.time);
      // Events come one frame each; a quarter of a second gathers a
      // burst (a health check is three) into one frame of the pane.
      scheduleSoon();
      return;
    case "engine":
      model.engine = m.engine;
      touched(m.time);
      break;
  }
  schedule();
}

function onDocument(doc) {
  if (!model.context && !model.askedContext) {
    // Polling from the first load: no hello has named the context.
    model.askedContext = true;
    fetch("/v1/health", { cache: "no-store", credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((h) => {
        if (h && h.context && !model.context) {
          model.context = h.context;
          render.header = true;
          schedule();
        }
      })
      .catch(() => {});
  }
  applySnapshot(doc.epoch, doc.seq, doc.snapshot, doc.time);
  if (doc.history) applyHistory(doc.history, false);
  schedule();
}

function onMode(st) {
  model.conn = st;
  render.header = true;
  schedule();
}

// ---- rendering --------------------------------------------------------------

const render = {
  scheduled: false,
  header: true,
  structure: true,
  detail: true,
  rows: new Set(),
  gone: [],
  newEvents: [],
  eventsRebuild: false,
};

function markRow(e) {
  render.rows.add(e);
}

function schedule() {
  if (render.scheduled) return;
  render.scheduled = true;
  requestAnimationFrame(frame);
}

let soon = 0;

function scheduleSoon() {
  if (soon) return;
  soon = setTimeout(() => {
    soon = 0;
    schedule();
  }, 250);
}

// A frame's own work stops after frameBudget ms (wall time: on a busy host
// a frame does less) and goes on in the next
// frame, and a frame makes at most rowsPerFrame new rows: Chromium lays out
// and paints after it in the same task, and a task over 50 ms is a frozen
// page (on a busy host every task takes several times its CPU time).
const frameBudget = 3;
const rowsPerFrame = 25;

function frame() {
  render.scheduled = false;
  const t0 = performance.now();
  const now = Date.now();
  if (render.header) renderHeader();
  for (const tr of render.gone) tr.remove();
  render.gone = [];
  if (render.structure) renderStructure(now);
  for (const e of render.rows) {
    if (performance.now() - t0 > frameBudget) break;
    render.rows.delete(e);
    if (e.row) renderRow(e, now);
  }
  if (render.detail) renderDetail();
  renderEvents();
  if (render.structure || render.rows.size) schedule();
}

function connText(st) {
  switch (st.mode) {
    case "live":
      return "live";
    case "polling":
      return "polling";
    case "reconnecting": {
      const s = Math.max(0, (st.nextTry - performance.now()) / 1000);
      return `reconnecting (attempt ${st.attempt}, next try in ${s.toFixed(1)}s)`;
    }
    case "refused":
      return st.reason;
    default:
      return "connecting";
  }
}

function renderHeader() {
  render.header = false;
  const st = model.conn;
  let mode = st.mode;
  let text = connText(st);
  const conn = $("conn");
  conn.title = "";
  if ((mode === "live" || mode === "polling") && model.engine.state === "unavailable") {
    mode = "engine-unavailable";
    text = "Engine unavailable";
    conn.title = model.engine.error || "";
  }
  if (conn.dataset.mode !== mode) conn.dataset.mode = mode;
  setText($("conn-text"), text);
  setText($("context"), model.context || "–");
  setText($("engine"), model.engine.version ? model.engine.version : model.engine.state || "–");
  setText($("updated"), model.updated ? clock(model.updated) : "–");
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function visible(e) {
  const c = e.c;
  if (!model.all && !(live(c.state) || c.state === "restarting")) return false;
  const f = model.filter;
  if (!f) return true;
  // The table is filtered once a second: the answer is kept until the
  // filter or the container changes.
  if (e.match && e.match.f === f && e.match.c === c) return e.match.v;
  e.match = { f, c, v: matches(c, f) };
  return e.match.v;
}

function matches(c, f) {
  if ((c.name || "").toLowerCase().includes(f)) return true;
  if ((c.project || "").toLowerCase().includes(f)) return true;
  for (const [k, v] of Object.entries(c.labels || {})) {
    if ((k + "=" + v).toLowerCase().includes(f)) return true;
  }
  return false;
}

const sortKeys = {
  name: (e) => e.c.name || "",
  state: (e) => stateText(e.c),
  cpu: (e) => (e.s ? e.s.cpu_percent : -1),
  mem: (e) => (e.s ? e.s.mem_usage : -1),
  memp: (e) => (e.s ? e.s.mem_percent : -1),
  rx: (e) => (e.s ? e.s.net_rx_rate : -1),
  tx: (e) => (e.s ? e.s.net_tx_rate : -1),
  blk: (e) => (e.s ? e.s.block_read + e.s.block_write : -1),
  pids: (e) => (e.s ? e.s.pids : -1),
  uptime: (e) => (live(e.c.state) && e.c.started_at ? -Date.parse(e.c.started_at) : -Infinity),
};

// One collator: String.localeCompare makes one for every call, and the
// table is sorted once a second.
const collator = new Intl.Collator();

function compare(a, b) {
  const key = sortKeys[model.sort.key];
  const x = key(a);
  const y = key(b);
  let r = typeof x === "string" ? collator.compare(x, y) : x - y;
  if (r === 0) r = collator.compare(a.c.name || "", b.c.name || "");
  return r * model.sort.dir;
}

let shownOrder = []; // the tbody's children as last laid out
let tableBuilt = false; // every row of the first table has been made
const groupRows = new Map(); // project -> {tr, cells}

function renderStructure(now) {
  render.structure = false;
  const shown = [...model.containers.values()].filter(visible).sort(compare);
  const order = [];
  // New rows beyond rowsPerFrame wait for the next frame (the first
  // snapshot at 200 containers is built over eight frames).
  let made = 0;
  const ready = (e) => {
    if (e.row) return true;
    if (made === rowsPerFrame) {
      render.structure = true;
      return false;
    }
    made++;
    return true;
  };
  if (model.group) {
    const groups = new Map();
    for (const e of shown) {
      const p = e.c.project || "";
      if (!groups.has(p)) groups.set(p, []);
      groups.get(p).push(e);
    }
    const names = [...groups.keys()].sort((a, b) => (a === "" ? 1 : b === "" ? -1 : collator.compare(a, b)));
    for (const p of names) {
      const g = groupRow(p);
      renderGroup(g, p, groups.get(p));
      order.push(g.tr);
      for (const e of groups.get(p)) if (ready(e)) order.push(rowOf(e, now).tr);
    }
    for (const [p, g] of groupRows) if (!groups.has(p)) { g.tr.remove(); groupRows.delete(p); }
  } else {
    for (const g of groupRows.values()) g.tr.remove();
    groupRows.clear();
    for (const e of shown) if (ready(e)) order.push(rowOf(e, now).tr);
  }
  const tbody = $("rows");
  const shownSet = new Set(order);
  for (const tr of shownOrder) if (!shownSet.has(tr)) tr.remove();
  // Move only when the order changed: moving every row each second would
  // cost layout for nothing.
  let same = order.length === tbody.children.length;
  for (let i = 0; same && i < order.length; i++) same = tbody.children[i] === order[i];
  if (!same) {
    const frag = document.createDocumentFragment();
    for (const tr of order) frag.appendChild(tr);
    tbody.appendChild(frag);
  }
  shownOrder = order;
  if (!render.structure && model.stateEpoch !== null) tableBuilt = true;
  if ($("empty").hidden !== shown.length > 0) $("empty").hidden = shown.length > 0;
  const total = model.containers.size;
  setText($("count"), shown.length === total ? plural(total, "container") : `${shown.length} of ${plural(total, "container")}`);
  for (const th of document.querySelectorAll(".row-h [data-sort]")) {
    const key = th.dataset.sort === model.sort.key;
    th.classList.toggle("sorted-asc", key && model.sort.dir > 0);
    th.classList.toggle("sorted-desc", key && model.sort.dir < 0);
  }
}

function groupRow(project) {
  let g = groupRows.get(project);
  if (!g) {
    const tr = document.createElement("div");
    tr.className = "group";
    tr.setAttribute("role", "row");
    const name = document.createElement("b");
    const totals = document.createElement("span");
    tr.append(name, totals);
    g = { tr, name, totals };
    groupRows.set(project, g);
  }
  return g;
}

function renderGroup(g, project, entries) {
  let cpu = 0;
  let mem = 0;
  let running = 0;
  for (const e of entries) {
    if (e.s) {
      cpu += e.s.cpu_percent || 0;
      mem += e.s.mem_usage || 0;
    }
    if (e.c.state === "running") running++;
  }
  setText(g.name, project || "(no Compose project)");
  setText(g.totals, `  ${plural(entries.length, "container")}, ${running} running · CPU ${percent(cpu)} · memory ${binarySize(mem)}`);
}

const columns = ["name", "state", "cpu", "cpuSpark", "mem", "memp", "memSpark", "rx", "tx", "blk", "pids", "uptime"];

function rowOf(e, now) {
  if (e.row) return e.row;
  const tr = document.createElement("div");
  tr.setAttribute("role", "row");
  // A row that comes later fades in; the rows of the first table just
  // appear (200 rows fading at once repainted the table each frame).
  if (tableBuilt) {
    tr.className = "row enter";
    tr.addEventListener("animationend", () => tr.classList.remove("enter"), { once: true });
  } else {
    tr.className = "row";
  }
  tr.dataset.id = e.id;
  const cells = {};
  for (const col of columns) {
    const td = document.createElement("div");
    td.setAttribute("role", "cell");
    if (col.endsWith("Spark")) {
      td.className = "spark";
      const svg = makeSvg("spark", 100, 20);
      cells[col + "Line"] = line(svg, col === "cpuSpark" ? "cpu" : "mem");
      td.appendChild(svg);
    } else {
      if (col === "state") td.className = "state";
      else if (col !== "name") td.className = "num";
      // The text sits in a box of fixed size with strict containment: a
      // grid item is laid out with its grid, so a changed number laid the
      // whole row out again; the box is laid out on its own.
      const v = document.createElement("div");
      v.className = "v";
      td.appendChild(v);
      cells[col + "V"] = v;
    }
    cells[col] = td;
    tr.appendChild(td);
  }
  tr.addEventListener("click", () => select(e.id));
  tr.entry = e;
  e.row = { tr, cells, text: {}, inView: false };
  inView.observe(tr);
  e.sparkDirty = true;
  e.row.never = true; // filled once before the observer first reports
  renderRow(e, now);
  return e.row;
}

function cell(r, col, text) {
  if (r.text[col] !== text) {
    r.text[col] = text;
    r.cells[col + "V"].textContent = text;
  }
}

function spark(r, col, pts) {
  if (r.text[col] !== pts) {
    r.text[col] = pts;
    r.cells[col + "Line"].setAttribute("points", pts);
  }
}

function renderRow(e, now) {
  const r = e.row;
  // A row out of view is written when it comes into view: at 200
  // containers most rows are, and their text would cost layout for
  // nothing.
  if (!r.inView && !r.never) {
    e.stale = true;
    return;
  }
  r.never = false;
  e.stale = false;
  const c = e.c;
  const s = live(c.state) ? e.s : null;
  if (r.tr.dataset.name !== c.name) r.tr.dataset.name = c.name || "";
  cell(r, "name", c.name || c.id.slice(0, 12));
  if (r.cells.name.title !== (c.name || "")) r.cells.name.title = c.name || "";
  const st = stateText(c);
  cell(r, "state", st);
  const stKey = c.state === "running" && c.health === "unhealthy" ? "unhealthy" : c.state;
  if (r.cells.state.dataset.state !== stKey) r.cells.state.dataset.state = stKey;
  if (e.flash) {
    e.flash = false;
    // Two alternating animations: a class change restarts it without a
    // forced reflow.
    const td = r.cells.state;
    const next = td.classList.contains("flash-a") ? "flash-b" : "flash-a";
    td.classList.remove("flash-a", "flash-b");
    td.classList.add(next);
  }
  cell(r, "cpu", s ? percent(s.cpu_percent) : "--");
  cell(r, "mem", s ? `${binarySize(s.mem_usage)} / ${binarySize(s.mem_limit)}` : "--");
  cell(r, "memp", s ? percent(s.mem_percent) : "--");
  cell(r, "rx", s ? rate(s.net_rx_rate) : "--");
  cell(r, "tx", s ? rate(s.net_tx_rate) : "--");
  cell(r, "blk", s ? `${decimalSize(s.block_read)} / ${decimalSize(s.block_write)}` : "--");
  cell(r, "pids", s ? String(s.pids) : "--");
  cell(r, "uptime", live(c.state) && c.started_at ? uptime(now - Date.parse(c.started_at)) : "--");
  if (e.sparkDirty) {
    e.sparkDirty = false;
    // A sleeping container's line is often the same as a second ago:
    // writing it again would lay out and paint it for nothing.
    spark(r, "cpuSpark", points(e.hist.cpu, sparkSlots, 100, 20, Math.max(1, seriesMax(e.hist.cpu) * 1.15)));
    spark(r, "memSpark", points(e.hist.mem, sparkSlots, 100, 20, seriesMax(e.hist.mem) * 1.15));
  }
  const sel = model.selected === e.id;
  if (r.tr.classList.contains("selected") !== sel) r.tr.classList.toggle("selected", sel);
}

// inView tracks which rows are in (or just outside) the scrolled view.
// Chromium renders more (content-visibility: auto keeps rows within half a
// screen rendered), but rows out of sight are written when they come in:
// at 200 containers that halves the rows written each second.
const inView = new IntersectionObserver(
  (entries) => {
    for (const en of entries) {
      const e = en.target.entry;
      if (!e || !e.row) continue;
      e.row.inView = en.isIntersecting;
      if (en.isIntersecting && e.stale) markRow(e);
    }
    schedule();
  },
  { root: document.querySelector(".table-wrap"), rootMargin: "50px 0px" },
);

// ---- detail pane ------------------------------------------------------------

const detailLines = {};

function select(id) {
  const prev = model.selected && model.containers.get(model.selected);
  model.selected = model.selected === id ? null : id;
  if (prev) markRow(prev);
  const e = model.containers.get(id);
  if (e) markRow(e);
  render.detail = true;
  render.facts = true;
  schedule();
}

function renderDetail() {
  render.detail = false;
  const pane = $("detail");
  const e = model.selected && model.containers.get(model.selected);
  if (!e) {
    pane.hidden = true;
    return;
  }
  pane.hidden = false;
  const c = e.c;
  setText($("d-name"), c.name || c.id.slice(0, 12));
  const h = e.hist;
  const s = live(c.state) ? e.s : null;
  setText($("d-cpu"), s ? percent(s.cpu_percent) : "--");
  setText($("d-mem"), s ? `${binarySize(s.mem_usage)} / ${binarySize(s.mem_limit)}` : "--");
  setText($("d-net"), s ? `${rate(s.net_rx_rate)} / ${rate(s.net_tx_rate)}` : "--");
  setText($("d-blk"), s ? `${decimalSize(s.block_read)} / ${decimalSize(s.block_write)}` : "--");
  chart("cpu", [["cpu", h.cpu]], Math.max(1, seriesMax(h.cpu)));
  chart("mem", [["mem", h.mem]], seriesMax(h.mem));
  chart("net", [["rx", h.rx], ["tx", h.tx]], seriesMax(h.rx, h.tx));
  chart("blk", [["rx", h.br], ["tx", h.bw]], seriesMax(h.br, h.bw));
  renderFacts(c);
}

function chart(name, lines, max) {
  const svg = $("d-chart-" + name);
  for (let i = 0; i < lines.length; i++) {
    const key = name + i;
    if (!detailLines[key]) detailLines[key] = line(svg, lines[i][0]);
    detailLines[key].setAttribute("points", points(lines[i][1], historyLen, 300, 70, max));
  }
}

let factsFor = null;

function renderFacts(c) {
  const sig = JSON.stringify(c);
  if (factsFor === sig) return;
  factsFor = sig;
  const ports = (c.ports || []).map((p) => (p.public_port ? `${p.ip || ""}:${p.public_port}->` : "") + `${p.private_port}/${p.proto}`);
  const facts = [
    ["ID", c.id],
    ["Image", c.image],
    ["Command", c.command],
    ["State", stateText(c)],
    ["Status", c.status],
    ["Health", c.health || "--"],
    ["Exit code", String(c.exit_code ?? 0) + (c.oom_killed ? " (OOM killed)" : "")],
    ["Restarts", String(c.restart_count ?? 0)],
    ["Created", c.created],
    ["Started", c.started_at || "--"],
    ["Finished", c.finished_at || "--"],
    ["Project", c.project ? `${c.project}${c.service ? " / " + c.service : ""}` : "--"],
    ["Ports", ports.join(", ") || "--"],
    ["Networks", (c.networks || []).join(", ") || "--"],
  ];
  for (const [k, v] of Object.entries(c.labels || {}).sort()) facts.push(["label", `${k}=${v}`]);
  const frag = document.createDocumentFragment();
  for (const [k, v] of facts) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v ?? "";
    frag.append(dt, dd);
  }
  $("d-facts").replaceChildren(frag);
}

// ---- events pane ------------------------------------------------------------

function eventShown(ev) {
  const t = model.evType;
  const a = model.evAction;
  if (t && !(ev.Type || "").toLowerCase().includes(t)) return false;
  if (a && !(ev.Action || "").toLowerCase().includes(a)) return false;
  return true;
}

function eventItem(item) {
  const ev = item.ev;
  const li = document.createElement("li");
  li.dataset.key = item.key;
  const attrs = (ev.Actor && ev.Actor.Attributes) || {};
  const nano = ev.timeNano ? Number(BigInt(ev.timeNano) / 1000000n) : (ev.time || 0) * 1000;
  const d = new Date(nano);
  const parts = [
    ["t", clock(d) + "." + String(d.getMilliseconds()).padStart(3, "0")],
    ["ty", ev.Type || ""],
    ["ac", ev.Action || ""],
    ["nm", attrs.name || ((ev.Actor && ev.Actor.ID) || "").slice(0, 12)],
    ["at", ["image", "exitCode", "signal", "type", "container"].filter((k) => attrs[k]).map((k) => `${k}=${attrs[k]}`).join(" ")],
  ];
  for (const [cls, text] of parts) {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    li.appendChild(span);
  }
  item.li = li;
  return li;
}

function renderEvents() {
  const list = $("ev-list");
  if (render.eventsRebuild) {
    render.eventsRebuild = false;
    render.newEvents = [];
    const frag = document.createDocumentFragment();
    for (let i = model.events.length - 1; i >= 0; i--) {
      const item = model.events[i];
      if (eventShown(item.ev)) frag.appendChild(item.li || eventItem(item));
      else if (item.li) item.li.remove();
    }
    list.replaceChildren(frag);
  } else if (render.newEvents.length) {
    const frag = document.createDocumentFragment();
    // New lines just appear: on a host with health checks events come
    // several a second, and a fade would repaint the pane without pause.
    for (let i = render.newEvents.length - 1; i >= 0; i--) {
      const item = render.newEvents[i];
      if (model.eventKeys.has(item.key) && eventShown(item.ev)) frag.appendChild(eventItem(item));
    }
    render.newEvents = [];
    list.prepend(frag);
  }
  setText($("ev-count"), `${model.events.length} events`);
}

// ---- controls -----------------------------------------------------------------

function bind() {
  $("filter").addEventListener("input", (ev) => {
    model.filter = ev.target.value.trim().toLowerCase();
    render.structure = true;
    schedule();
  });
  $("all").addEventListener("change", (ev) => {
    model.all = ev.target.checked;
    render.structure = true;
    schedule();
  });
  $("group").addEventListener("change", (ev) => {
    model.group = ev.target.checked;
    render.structure = true;
    schedule();
  });
  for (const th of document.querySelectorAll(".row-h [data-sort]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      model.sort = { key, dir: model.sort.key === key ? -model.sort.dir : key === "name" || key === "state" ? 1 : -1 };
      render.structure = true;
      schedule();
    });
  }
  $("d-close").addEventListener("click", () => {
    if (model.selected) select(model.selected);
  });
  for (const [id, key] of [["ev-type", "evType"], ["ev-action", "evAction"]]) {
    $(id).addEventListener("input", (ev) => {
      model[key] = ev.target.value.trim().toLowerCase();
      render.eventsRebuild = true;
      schedule();
    });
  }
  // Uptimes tick without messages. While stats batches come (each
  // second), each batch writes the rows in view, uptimes with them: a
  // tick of its own would lay them out a second time each second.
  setInterval(() => {
    if (performance.now() - model.rowsWritten < 1500) return;
    let any = false;
    for (const e of model.containers.values()) {
      if (e.row && e.row.inView && live(e.c.state)) {
        markRow(e);
        any = true;
      }
    }
    if (any) schedule();
  }, 1000);
  setInterval(() => {
    if (model.conn.mode === "reconnecting") {
      render.header = true;
      schedule();
    }
  }, 200);
}

const params = new URLSearchParams(location.search);
if (params.has("filter")) {
  $("filter").value = params.get("filter");
  model.filter = params.get("filter").trim().toLowerCase();
}
if (params.get("all") === "1") {
  $("all").checked = true;
  model.all = true;
}
bind();
const conn = new Connection({
  message: onMessage,
  document: onDocument,
  mode: onMode,
  wantHistory: () => !model.haveHistory,
});
// For tests and the curious: the model, read-only by convention.
window.dockerLive = { model, conn };
conn.start();
