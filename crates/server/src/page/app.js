// The writing pad: strokes drawn with pointer events (mouse, touch, pen),
// read as a PNG after each stroke (and now and then while writing); the
// answer's twelve probabilities are shown as bars, beside the 28x28 image
// the network saw. Plain JavaScript, no build step.
//
// Who reads: `trainer serve` (POST /api/predict), or, in a site written by
// `trainer export --web`, the network itself in this browser: reader.js
// (loaded first) leaves a promise of it in `window.hanzi12Reader`.
"use strict";

const $ = (id) => document.getElementById(id);
const pad = $("pad"), ink = $("ink"), ctx = ink.getContext("2d");
const picture = $("picture"), hint = $("hint"), drop = $("drop");

// Stroke width as a fraction of the pad's side: a character filling about
// three quarters of the pad then has strokes like the course's (about 2 px
// in its 22 px high characters).
const PEN = 0.062;
// While a stroke is being written, ask again at most this often (ms).
const LIVE_EVERY = 350;

let strokes = [];      // each: {width, points: [[x, y], ...]} in canvas pixels
let current = null;    // the stroke under the pointer
let version = 0;       // bumps on every change of what is to be read
let inFlight = false, again = false, lastSent = 0;
let file = null;       // {blob, type} when a file is shown instead of a drawing

function setState() {
  document.body.dataset.version = String(version);
  document.body.dataset.state = inFlight ? "busy" : "idle";
}

// --- Drawing --------------------------------------------------------------

function fitCanvas() {
  const side = Math.round(pad.clientWidth * (window.devicePixelRatio || 1));
  if (side > 0 && ink.width !== side) {
    const scale = side / ink.width;
    for (const s of strokes) {
      s.width *= scale;
      s.points = s.points.map(([x, y]) => [x * scale, y * scale]);
    }
    ink.width = ink.height = side;
    redraw();
  }
}

function point(event) {
  const r = ink.getBoundingClientRect();
  return [(event.clientX - r.left) * ink.width / r.width, (event.clientY - r.top) * ink.height / r.height];
}

// Whether every point of a stroke is within half a pixel of its first: a tap,
// or a pointer that moved by nothing. A canvas strokes no pixels for a path of
// zero length, round caps or not, so such a stroke is drawn as a dot.
function isDot(p) {
  return p.every(([x, y]) => Math.hypot(x - p[0][0], y - p[0][1]) < 0.5);
}

function drawStroke(s) {
  const p = s.points;
  ctx.lineWidth = s.width;
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.strokeStyle = ctx.fillStyle = "#111";
  if (isDot(p)) {
    ctx.beginPath();
    ctx.arc(p[0][0], p[0][1], s.width / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  // A quadratic curve through the midpoints: smooth without lagging.
  ctx.beginPath();
  ctx.moveTo(p[0][0], p[0][1]);
  for (let i = 1; i < p.length - 1; i++) {
    const mx = (p[i][0] + p[i + 1][0]) / 2, my = (p[i][1] + p[i + 1][1]) / 2;
    ctx.quadraticCurveTo(p[i][0], p[i][1], mx, my);
  }
  const last = p[p.length - 1];
  ctx.lineTo(last[0], last[1]);
  ctx.stroke();
}

function redraw() {
  ctx.clearRect(0, 0, ink.width, ink.height);
  for (const s of strokes) drawStroke(s);
  if (current) drawStroke(current);
  const empty = strokes.length === 0 && !current && !file;
  hint.hidden = !empty;
  $("undo").disabled = strokes.length === 0;
  $("clear").disabled = empty;
}

function changed() {
  version += 1;
  setState();
  request();
}

ink.addEventListener("pointerdown", (event) => {
  if (event.button !== 0 && event.pointerType === "mouse") return;
  event.preventDefault();
  if (file) clearAll(false);
  ink.setPointerCapture(event.pointerId);
  const pressure = event.pointerType === "pen" && event.pressure > 0 ? 0.7 + 0.6 * event.pressure : 1;
  current = { width: PEN * ink.width * pressure, points: [point(event)] };
  redraw();
});

ink.addEventListener("pointermove", (event) => {
  if (!current) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) current.points.push(point(e));
  redraw();
  if (performance.now() - lastSent > LIVE_EVERY) {
    version += 1;
    request();
  }
});

function endStroke() {
  if (!current) return;
  strokes.push(current);
  current = null;
  redraw();
  changed();
}
ink.addEventListener("pointerup", endStroke);
ink.addEventListener("pointercancel", endStroke);

function undo() {
  if (!strokes.length) return;
  strokes.pop();
  redraw();
  strokes.length ? changed() : clearAll(true);
}

function clearAll(show) {
  strokes = [];
  current = null;
  file = null;
  picture.hidden = true;
  picture.removeAttribute("src");
  redraw();
  version += 1;
  setState();
  if (show) showEmpty();
}

$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", () => clearAll(true));
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "z") { event.preventDefault(); undo(); }
  if (event.key === "Escape") clearAll(true);
});

// --- Files ----------------------------------------------------------------

function openFile(f) {
  if (!f) return;
  const name = f.name.toLowerCase();
  const type = f.type || (name.endsWith(".bmp") ? "image/bmp" : name.endsWith(".png") ? "image/png" : "");
  strokes = [];
  current = null;
  file = { blob: f, type: type || "application/octet-stream" };
  picture.src = URL.createObjectURL(f);
  picture.hidden = false;
  redraw();
  changed();
}

$("file").addEventListener("change", (event) => {
  openFile(event.target.files[0]);
  event.target.value = "";
});
pad.addEventListener("dragover", (event) => { event.preventDefault(); drop.hidden = false; });
pad.addEventListener("dragleave", () => { drop.hidden = true; });
pad.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.hidden = true;
  openFile(event.dataTransfer.files[0]);
});

// --- Reading ----------------------------------------------------------------

const local = window.hanzi12Reader;   // undefined when a server reads

// The server's answer to a picture, or this browser's (the same fields).
async function read(blob, type) {
  if (local) return (await local).read(blob);
  const response = await fetch("/api/predict", { method: "POST", headers: { "Content-Type": type }, body: blob });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

// What `/api/model` says about the run (or the exported site's manifest).
async function model() {
  if (local) return (await local).model;
  return (await fetch("/api/model")).json();
}

// What is to be read: the file, or the drawing as a PNG (black on transparent,
// which the reader, server or WebAssembly, composes over white paper).
function body() {
  if (file) return Promise.resolve({ blob: file.blob, type: file.type });
  return new Promise((resolve) => ink.toBlob((blob) => resolve({ blob, type: "image/png" }), "image/png"));
}

async function request() {
  if (inFlight) { again = true; return; }
  if (!file && strokes.length === 0 && !current) { showEmpty(); return; }
  inFlight = true;
  again = false;
  lastSent = performance.now();
  setState();
  const asked = version;
  try {
    const { blob, type } = await body();
    const started = performance.now();
    const answer = await read(blob, type);
    const roundTrip = performance.now() - started;
    // The last answer, with its round trip, for whoever looks (the tests, a benchmark).
    window.hanzi12LastAnswer = { ...answer, round_trip_ms: roundTrip };
    if (asked === version || !again) show(answer, roundTrip);
    document.body.dataset.answered = String(asked);
    $("error").hidden = true;
  } catch (error) {
    $("error").textContent = "Could not read it: " + error.message;
    $("error").hidden = false;
    document.body.dataset.answered = String(asked);
  } finally {
    inFlight = false;
    setState();
    if (again) request();
  }
}

// --- Showing the answer ---------------------------------------------------

const bars = new Map();   // character -> {li, fill, pct}

function buildBars(classes) {
  const list = $("bars");
  list.textContent = "";
  for (const c of classes) {
    const li = document.createElement("li");
    const ch = document.createElement("span");
    ch.className = "ch";
    ch.textContent = c.character;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    track.appendChild(fill);
    const pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = "";
    li.append(ch, track, pct);
    list.appendChild(li);
    bars.set(c.character, { li, fill, pct });
  }
}

function percent(p) {
  const v = 100 * p;
  return v >= 99.95 ? "100 %" : v >= 10 ? v.toFixed(1) + " %" : v.toFixed(2) + " %";
}

function show(answer, roundTrip) {
  const list = $("bars");
  answer.classes.forEach((c, i) => {
    const bar = bars.get(c.character);
    bar.fill.style.width = (100 * c.probability).toFixed(2) + "%";
    bar.pct.textContent = percent(c.probability);
    bar.li.classList.toggle("first", i === 0);
    list.appendChild(bar.li);   // most probable first
  });
  const top = answer.classes[0];
  $("top-char").textContent = top.character;
  $("top-prob").textContent = percent(top.probability);
  $("top-name").textContent = `class ${top.folder} · ${answer.model}`;
  drawSeen(answer.input);
  $("timing").textContent = local
    ? `Read in this browser in ${answer.ms.toFixed(1)} ms (WebAssembly); nothing was sent anywhere.`
    : `Answered in ${answer.ms.toFixed(1)} ms on the server (forward pass ${answer.forward_ms.toFixed(1)} ms` +
      ` for ${answer.batch} image${answer.batch === 1 ? "" : "s"}), ${roundTrip.toFixed(0)} ms round trip.`;
}

function showEmpty() {
  for (const bar of bars.values()) {
    bar.fill.style.width = "0";
    bar.pct.textContent = "";
    bar.li.classList.remove("first");
  }
  $("top-char").textContent = "·";
  $("top-prob").textContent = "—";
  $("top-name").textContent = "nothing written yet";
  $("timing").innerHTML = "&nbsp;";
  $("seen-note").textContent = "28 × 28";
  const seen = $("seen").getContext("2d");
  seen.clearRect(0, 0, 28, 28);
  document.body.dataset.answered = String(version);
}

function drawSeen(input) {
  const seen = $("seen").getContext("2d");
  const image = seen.createImageData(28, 28);
  input.pixels.forEach((v, i) => {
    const shade = Math.round(255 * (1 - Math.min(1, Math.max(0, v))));
    image.data.set([shade, shade, shade, 255], 4 * i);
  });
  seen.putImageData(image, 0, 0);
  $("seen-note").textContent = input.normalised
    ? `from ${input.width} × ${input.height}, cropped, scaled, centred`
    : "28 × 28, as sent";
}

// --- Start ----------------------------------------------------------------

async function start() {
  fitCanvas();
  window.addEventListener("resize", fitCanvas);
  try {
    const run = await model();
    buildBars(run.classes);
    $("charset").textContent = run.classes.map((c) => c.character).join("");
    const accuracy = run.validation_accuracy == null ? "" : `, ${run.validation_accuracy.toFixed(2)} % on validation`;
    $("model").textContent = `${run.network} (${run.parameters.toLocaleString("en")} parameters${accuracy}), trained on ${run.training_data}, ` +
      (local ? "reading in this browser (WebAssembly)" : `on ${run.backend}`);
    if (local) {
      $("served-by").textContent = "exported by trainer export --web: the network runs in this browser, and nothing written here leaves it.";
      $("api").hidden = true;
    }
  } catch (error) {
    $("model").textContent = (local ? "cannot load the network: " : "cannot reach the server: ") + error.message;
  }
  redraw();
  setState();
}

start();
