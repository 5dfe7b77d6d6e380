// The board: every run under the folder `trainer board` was given, read
// from its API every two seconds. A run's curve is fetched again when its
// epochs change, so a run that trains shows each epoch as it is written.
"use strict";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const MOST_CURVES = 40;
const board = { runs: [], sweeps: [], curves: {}, shown: [] };
window.hanzi12Board = board;

const $ = (id) => document.getElementById(id);

async function json(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

// `key=value` terms, comma-separated; every term must hold.
function matches(run, filter) {
  return filter.split(",").map((t) => t.trim()).filter((t) => t).every((term) => {
    const [key, ...rest] = term.split("=");
    const want = rest.join("=").trim();
    const have = { sweep: run.sweep, status: run.status, network: run.network, run: run.id }[key.trim()] ?? run.settings[key.trim()];
    if (have === undefined || have === null) return false;
    if (want === "") return true;
    return have === want || (Number(have) === Number(want) && want !== "" && !Number.isNaN(Number(want))) || String(have).includes(want);
  });
}

async function refresh() {
  try {
    const [runs, sweeps] = await Promise.all([json("/api/runs"), json("/api/sweeps")]);
    board.runs = runs;
    board.sweeps = sweeps;
    board.shown = runs.filter((r) => matches(r, $("filter").value));
    await fetchCurves(board.shown.slice(0, MOST_CURVES));
    render();
    $("status").textContent = `${runs.length} runs, ${board.shown.length} shown; read ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    $("status").textContent = `cannot read the runs: ${error.message}`;
  }
}

async function fetchCurves(runs) {
  await Promise.all(runs.map(async (run) => {
    const cached = board.curves[run.id];
    if (cached && cached.epochs === run.epochs_done && run.status !== "training") return;
    if (cached && cached.epochs === run.epochs_done && cached.rows.length > 0 && cached.status === run.status) return;
    const rows = await json(`/api/metrics?id=${encodeURIComponent(run.id)}`);
    board.curves[run.id] = { epochs: run.epochs_done, status: run.status, rows };
  }));
}

function colourOf(run, index) {
  const by = $("colour").value;
  if (!by) return PALETTE[index % PALETTE.length];
  const values = [...new Set(board.shown.map((r) => r.settings[by]))].sort();
  return PALETTE[values.indexOf(run.settings[by]) % PALETTE.length];
}

function render() {
  renderColourChoices();
  drawChart();
  renderTable();
  renderSweeps();
}

function renderColourChoices() {
  const select = $("colour");
  const differing = differingSettings(board.shown);
  const have = [...select.options].map((o) => o.value).slice(1);
  if (have.join() === differing.join()) return;
  const chosen = select.value;
  select.length = 1;
  for (const key of differing) select.add(new Option(key, key));
  select.value = differing.includes(chosen) ? chosen : "";
}

function differingSettings(runs) {
  if (runs.length < 2) return [];
  const keys = Object.keys(runs[0].settings);
  return keys.filter((k) => runs.some((r) => r.settings[k] !== runs[0].settings[k]));
}

function points(run) {
  const [split, what] = $("curve").value.split("-");
  const rows = board.curves[run.id]?.rows ?? [];
  return rows.filter((r) => r[1] === split).map((r) => [r[0], what === "loss" ? r[2] : r[3]]);
}

function drawChart() {
  const canvas = $("chart");
  const g = canvas.getContext("2d");
  const [w, h, pad] = [canvas.width, canvas.height, 48];
  g.clearRect(0, 0, w, h);
  const runs = board.shown.slice(0, MOST_CURVES);
  const lines = runs.map((run, i) => ({ run, colour: colourOf(run, i), points: points(run) })).filter((l) => l.points.length);
  board.drawn = lines.map((l) => ({ id: l.run.id, points: l.points }));
  const all = lines.flatMap((l) => l.points);
  g.fillStyle = "#444";
  g.font = "12px sans-serif";
  if (!all.length) {
    g.fillText("no epochs yet", w / 2 - 40, h / 2);
    $("legend").textContent = "";
    return;
  }
  const xMax = Math.max(...all.map((p) => p[0]), 1);
  let [yMin, yMax] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (yMax - yMin < 1e-9) [yMin, yMax] = [yMin - 1, yMax + 1];
  const x = (e) => pad + ((e - 1) / Math.max(xMax - 1, 1)) * (w - 2 * pad);
  const y = (v) => h - pad - ((v - yMin) / (yMax - yMin)) * (h - 2 * pad);
  g.strokeStyle = "#bbb";
  g.beginPath();
  g.moveTo(pad, pad / 2);
  g.lineTo(pad, h - pad);
  g.lineTo(w - pad / 2, h - pad);
  g.stroke();
  for (let t = 0; t <= 4; t++) {
    const v = yMin + ((yMax - yMin) * t) / 4;
    g.fillText(v.toPrecision(4), 2, y(v) + 4);
  }
  for (let e = 1; e <= xMax; e += Math.max(1, Math.ceil(xMax / 10))) g.fillText(String(e), x(e) - 3, h - pad + 16);
  g.fillText("epoch", w / 2, h - 8);
  for (const line of lines) {
    g.strokeStyle = line.colour;
    g.lineWidth = 2;
    g.beginPath();
    line.points.forEach(([e, v], i) => (i ? g.lineTo(x(e), y(v)) : g.moveTo(x(e), y(v))));
    g.stroke();
    for (const [e, v] of line.points) g.fillRect(x(e) - 2, y(v) - 2, 4, 4);
  }
  const legend = $("legend");
  legend.textContent = "";
  for (const line of lines) {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = line.colour;
    const by = $("colour").value;
    item.append(swatch, by ? `${line.run.id} (${by}=${line.run.settings[by]})` : line.run.id);
    legend.append(item);
  }
}

function renderTable() {
  const body = document.querySelector("#runs tbody");
  const differing = differingSettings(board.shown).filter((k) => !k.startsWith("data."));
  body.textContent = "";
  for (const run of board.shown) {
    const row = body.insertRow();
    row.dataset.run = run.id;
    const cells = [
      run.id,
      run.network,
      run.status,
      `${run.epochs_done}/${run.epochs}`,
      run.best_accuracy == null ? "" : run.best_accuracy.toFixed(2),
      run.best_epoch ?? "",
      differing.map((k) => `${k}=${run.settings[k]}`).join(" "),
    ];
    cells.forEach((text, i) => {
      const cell = row.insertCell();
      if (i === 0) cell.append(recipeOf(run));
      else cell.textContent = text;
      if (i === 2) cell.className = run.status;
    });
  }
}

// The run's name, opening to its whole recipe (kept open across refreshes).
function recipeOf(run) {
  const details = document.createElement("details");
  details.open = board.open?.has(run.id) ?? false;
  details.ontoggle = () => {
    board.open = board.open ?? new Set();
    details.open ? board.open.add(run.id) : board.open.delete(run.id);
  };
  const summary = document.createElement("summary");
  summary.textContent = run.id;
  const list = document.createElement("pre");
  list.textContent = Object.entries(run.settings).map(([k, v]) => `${k} = ${v}`).join("\n");
  details.append(summary, list);
  return details;
}

function renderSweeps() {
  const box = $("sweeps");
  const key = board.sweeps.map((s) => `${s.id}:${s.trials}:${s.report}`).join();
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.textContent = "";
  if (!board.sweeps.length) box.innerHTML = "<p>none under this folder</p>";
  for (const sweep of board.sweeps) {
    const div = document.createElement("div");
    div.className = "sweep";
    const title = document.createElement("h3");
    title.textContent = `${sweep.name} (${sweep.id}): ${sweep.trials} trials `;
    const show = document.createElement("button");
    show.className = "link";
    show.textContent = "show its trials";
    show.onclick = () => {
      $("filter").value = `sweep=${sweep.id}`;
      refresh();
    };
    title.append(show);
    div.append(title);
    if (sweep.report) {
      const img = document.createElement("img");
      img.alt = `${sweep.name}: the objective and each setting by trial`;
      img.src = `/api/report.png?id=${encodeURIComponent(sweep.id)}&t=${Date.now()}`;
      div.append(img);
    }
    box.append(div);
  }
}

$("filter").addEventListener("input", refresh);
$("curve").addEventListener("change", render);
$("colour").addEventListener("change", render);
refresh();
setInterval(refresh, 2000);
