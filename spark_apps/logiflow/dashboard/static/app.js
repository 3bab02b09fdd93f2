// LogiFlow's local dashboard page: asks /api/data for every panel's rows and draws them with
// plotly (served from the installed plotly package). State lives in the URL, so a reload or a
// shared link shows the same view.
"use strict";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const state = { meta: null, busy: false, first: true, timer: null, coverage: null };
const $ = (id) => document.getElementById(id);

async function getJSON(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error("The dashboard server is not answering (is logiflow dashboard running?)");
  }
  let body;
  try { body = await response.json(); } catch (error) { body = {}; }
  if (!response.ok) throw new Error(body.error || `The server answered HTTP ${response.status}`);
  return body;
}

function showMessage(html, kind) {
  const box = $("message");
  box.innerHTML = html;
  box.className = kind || "";
  box.hidden = false;
}

function hideMessage() { $("message").hidden = true; }

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;" })[c]);
}

// ---- the form and the URL ------------------------------------------------------------------

function toLocalInput(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function readUrl() {
  const params = new URLSearchParams(location.search);
  const range = params.get("range") || String(state.meta.default_range_minutes);
  if (![...$("range").options].some((o) => o.value === range)) {
    const option = new Option(`Last ${range} minutes`, range);
    $("range").add(option, 0);
  }
  $("range").value = range;
  if (params.get("start")) $("start").value = toLocalInput(params.get("start"));
  if (params.get("end")) $("end").value = toLocalInput(params.get("end"));
  for (const name of ["service", "host", "status"]) state[name] = params.get(name) || "";
  $("controls").classList.toggle("custom-range", range === "custom");
}

function writeUrl(range) {
  const params = new URLSearchParams();
  params.set("range", $("range").value);
  if ($("range").value === "custom") {
    params.set("start", range.start);
    params.set("end", range.end);
  }
  for (const name of ["service", "host", "status"]) if ($(name).value) params.set(name, $(name).value);
  history.replaceState(null, "", `?${params}`);
}

async function currentRange() {
  const choice = $("range").value;
  if (choice === "custom") {
    if (!$("start").value || !$("end").value) throw new Error("Pick both ends of the custom time range.");
    const start = new Date($("start").value), end = new Date($("end").value);
    if (isNaN(start) || isNaN(end)) throw new Error("The custom time range is not a valid date.");
    if (end <= start) throw new Error("The end of the time range must be after its start.");
    return { start: start.toISOString(), end: end.toISOString() };
  }
  if (choice === "data") {
    const covered = await getJSON("/api/coverage");
    if (!covered.start) return null;
    return covered;
  }
  const end = new Date();
  return { start: new Date(end - Number(choice) * 60000).toISOString(), end: end.toISOString() };
}

function query(range) {
  const params = new URLSearchParams({ start: range.start, end: range.end, tz: state.meta.time_zone });
  for (const name of ["service", "host", "status"]) if ($(name).value) params.set(name, $(name).value);
  return params;
}

async function loadOptions() {
  const options = await getJSON("/api/options");
  for (const [name, values] of [["service", options.services], ["host", options.hosts]]) {
    const select = $(name);
    const keep = select.value || state[name];
    select.length = 1;
    for (const value of values) select.add(new Option(value, value));
    if (keep && !values.includes(keep)) select.add(new Option(keep, keep));
    select.value = keep;
  }
}

// ---- refresh -------------------------------------------------------------------------------

function span(range) {
  const f = (iso) => new Date(iso).toLocaleString();
  return `${escapeHtml(f(range.start))} – ${escapeHtml(f(range.end))}`;
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  try {
    await refreshOnce();
  } catch (error) {
    showMessage(escapeHtml(error.message), "error");
  } finally {
    state.busy = false;
  }
}

async function refreshOnce() {
  refreshHealth();
  const range = await currentRange();
  if (range === null) {
    showMessage(`No data yet: Elasticsearch (${escapeHtml(state.meta.elasticsearch)}) holds no ` +
      `events under the index prefix <b>${escapeHtml(state.meta.index_prefix)}</b>. Ship some logs ` +
      "(<code>logiflow ship FILE</code> or <code>logiflow generate</code>) and this page fills in.");
    clearPanels();
    return;
  }
  writeUrl(range);
  const data = await getJSON(`/api/data?${query(range)}`);
  const matched = Math.max(...state.meta.panels.filter((p) => p.filterable)
    .map((p) => data.panels[p.id].matched));
  const filtered = ["service", "host", "status"].some((name) => $(name).value);
  if (matched === 0 && !filtered) {
    const covered = await getJSON("/api/coverage");
    if (!covered.start) {
      state.first = false;
      $("range").value = "data";
      return refreshOnce();
    }
    if (state.first && $("range").value !== "custom") {
      state.first = false;
      $("range").value = "data";
      await refreshOnce();
      showMessage(`Nothing in ${span(range)}, so this shows the whole range the data covers: ` +
        `${span(covered)}.`);
      return;
    }
    showMessage(`Nothing between ${span(range)}. The data covers ${span(covered)}. ` +
      '<button type="button" id="show-data">Show that range</button>');
    $("show-data").onclick = () => { $("range").value = "data"; apply(); };
  } else if (matched === 0) {
    showMessage("No events match these filters in this time range.");
  } else {
    hideMessage();
  }
  state.first = false;
  $("summary").textContent = `${matched.toLocaleString("en-US")} events from ` +
    `${new Date(data.start).toLocaleString()} to ${new Date(data.end).toLocaleString()} ` +
    `(time zone ${data.time_zone}).`;
  for (const panel of state.meta.panels) render(panel, data.panels[panel.id]);
}

function apply(event) {
  if (event) event.preventDefault();
  $("controls").classList.toggle("custom-range", $("range").value === "custom");
  refresh();
}

function schedule() {
  clearInterval(state.timer);
  const seconds = state.meta.refresh_seconds;
  if ($("auto").checked && seconds > 0) state.timer = setInterval(refresh, seconds * 1000);
}

// ---- panels --------------------------------------------------------------------------------

function layoutPanels() {
  for (const panel of state.meta.panels) {
    const box = document.createElement("section");
    box.className = `panel${panel.width === 2 ? " wide" : ""}`;
    box.dataset.panel = panel.id;
    box.innerHTML = `<h3>${escapeHtml(panel.title)}</h3>` +
      '<p class="sampled" hidden></p><div class="body"></div>';
    $(panel.board).appendChild(box);
  }
}

function clearPanels() {
  for (const body of document.querySelectorAll(".panel .body")) {
    body.innerHTML = '<div class="empty">No data</div>';
  }
}

// Column descriptions after the split keys: one per metric, or per percent of a percentiles metric.
function valueColumns(panel) {
  const columns = [];
  for (const metric of panel.metrics) {
    const count = metric.kind === "percentiles" ? Math.max(metric.percents.length, 1) : 1;
    for (let i = 0; i < count; i++) columns.push(metric);
  }
  return columns;
}

function keyCount(panel) {
  return panel.splits.reduce((n, s) => n + (s.kind === "hour_weekday" ? 2 : 1), 0);
}

function scaled(value, metric) {
  if (value === null || value === undefined) return null;
  if (metric.kind === "ratio") return value * 100;
  if (metric.unit === "ns") return value / 1e6;
  return value;
}

function formatBytes(value) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) { value /= 1024; i++; }
  return `${value.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function formatValue(value, metric) {
  if (value === null || value === undefined) return "–";
  if (metric.kind === "ratio") return `${(value * 100).toFixed(1)}%`;
  if (metric.unit === "ns") return `${(value / 1e6).toFixed(1)} ms`;
  if (metric.unit === "bytes") return formatBytes(value);
  if (!Number.isInteger(value)) return value.toFixed(1);
  return value.toLocaleString("en-US");
}

function axisTitle(metric) {
  if (metric.kind === "ratio") return "%";
  if (metric.unit === "ns") return "ms";
  return metric.unit || "";
}

// Elasticsearch gives bucket keys in the requested time zone; plotly draws wall-clock times.
function wallClock(key) { return key.replace(/(Z|[+-]\d\d:\d\d)$/, ""); }

// Over many events a panel reads a random sample of them: its numbers are estimates, say so.
function showSampling(box, data) {
  const note = box.querySelector(".sampled");
  note.hidden = !data.sampled;
  box.dataset.sampled = data.sampled || "";
  if (!data.sampled) return;
  const percent = +(data.sampled * 100).toPrecision(2);
  note.textContent = `Sampled: estimated from ${percent}% of the events`;
  note.title = `${data.matched.toLocaleString("en-US")} events in range: this panel read a ` +
    `random sample of them (probability ${data.sampled.toPrecision(2)}); counts are scaled up.`;
}

function render(panel, data) {
  const body = document.querySelector(`.panel[data-panel="${panel.id}"] .body`);
  body.parentElement.dataset.matched = data.matched;
  showSampling(body.parentElement, data);
  if (!data.rows.length || (panel.visual !== "metric" && data.matched === 0)) {
    if (body.firstChild && body.firstChild.classList && body.firstChild.classList.contains("chart")) {
      Plotly.purge(body.firstChild);
    }
    body.innerHTML = '<div class="empty">No data in this range</div>';
    return;
  }
  if (panel.visual === "metric") return renderMetrics(body, panel, data);
  if (panel.visual === "table") return renderTable(body, panel, data);
  let chart = body.querySelector(".chart");
  if (!chart) {
    body.innerHTML = "";
    chart = document.createElement("div");
    chart.className = "chart";
    body.appendChild(chart);
  }
  const [traces, layout] = figure(panel, data);
  Plotly.react(chart, traces, { margin: { t: 10, r: 10, b: 40, l: 60 }, autosize: true,
    legend: { orientation: "h", y: -0.25 }, xaxis: { nticks: panel.width === 2 ? 10 : 5, tickangle: 0 },
    ...layout },
    { displaylogo: false, responsive: true });
}

function figure(panel, data) {
  const keys = keyCount(panel);
  const metrics = valueColumns(panel);
  const split = panel.splits[0];
  if (panel.visual === "heatmap") {
    const z = WEEKDAYS.map(() => Array(24).fill(0));
    for (const [day, hour, count] of data.rows) z[WEEKDAYS.indexOf(day)][hour] = count;
    return [[{ type: "heatmap", z, x: [...Array(24).keys()], y: WEEKDAYS, colorscale: [[0, "#f4f7fb"], [0.25, "#bcd3f2"], [1, "#1d4f9c"]],
      hovertemplate: "%{y} %{x}:00 — %{z} events<extra></extra>" }],
      { yaxis: { autorange: "reversed" }, xaxis: { title: { text: `hour (${state.meta.time_zone})` }, dtick: 2 } }];
  }
  if (split.kind === "terms") {
    const rows = [...data.rows].reverse();
    return [[{ type: "bar", orientation: "h", y: rows.map((r) => String(r[0])), x: rows.map((r) => r[1]),
      marker: { color: "#2f6fdf" } }], { margin: { t: 10, r: 10, b: 30, l: 200 } }];
  }
  const x = (rows) => rows.map((r) => wallClock(r[0]));
  if (keys === 2) {  // time x series, stacked
    const series = new Map();
    for (const row of data.rows) {
      if (!series.has(row[1])) series.set(row[1], []);
      series.get(row[1]).push(row);
    }
    const traces = [...series.entries()].map(([name, rows]) => ({ type: "bar", name: String(name),
      x: x(rows), y: rows.map((r) => scaled(r[2], metrics[0])) }));
    return [traces, { barmode: "stack", yaxis: { title: { text: metrics[0].label } } }];
  }
  const columns = data.columns.slice(keys);
  const traces = columns.map((name, i) => ({
    type: panel.visual === "bar" ? "bar" : "scatter", mode: "lines", name, x: x(data.rows),
    y: data.rows.map((r) => scaled(r[keys + i], metrics[i])), connectgaps: false,
  }));
  return [traces, { yaxis: { title: { text: axisTitle(metrics[0]) }, rangemode: "tozero" } }];
}

function renderMetrics(body, panel, data) {
  const metrics = valueColumns(panel);
  const row = data.rows[0];
  body.innerHTML = '<div class="metrics">' + metrics.map((metric, i) =>
    `<div class="metric" data-label="${escapeHtml(metric.label)}" data-value="${row[i] ?? ""}">` +
    `<div class="value">${escapeHtml(formatValue(row[i], metric))}</div>` +
    `<div class="label">${escapeHtml(metric.label)}</div></div>`).join("") + "</div>";
}

// Table headers of the split columns: the field's everyday name.
const KEY_LABELS = {
  "logiflow.endpoint": "endpoint", "service.name": "service", "logiflow.anomaly.metric": "metric",
};

function renderTable(body, panel, data) {
  const keys = keyCount(panel);
  const metrics = valueColumns(panel);
  const head = data.columns.map((c, i) => `<th${i >= keys ? ' class="num"' : ""}>` +
    `${escapeHtml(i < keys ? (KEY_LABELS[c] ?? c) : c)}</th>`).join("");
  const rows = data.rows.map((row) => "<tr>" + row.map((value, i) => i < keys
    ? `<td>${escapeHtml(value)}</td>`
    : `<td class="num" data-value="${value ?? ""}">${escapeHtml(formatValue(value, metrics[i - keys]))}</td>`
  ).join("") + "</tr>").join("");
  body.innerHTML = `<table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

// ---- live health (Prometheus) ----------------------------------------------------------------

function formatHealth(figure) {
  const v = figure.value;
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (figure.unit === "flag") return v > 0 ? "yes" : "no";
  if (figure.unit === "seconds") return `${v.toFixed(v < 10 ? 1 : 0)} s`;
  if (figure.unit === "per_second") return `${v.toFixed(1)}/s`;
  return Math.round(v).toLocaleString("en-US");
}

async function refreshHealth() {
  const box = $("live-health");
  const body = box.querySelector(".live-body");
  let health;
  try {
    health = await getJSON("/api/health");
  } catch (error) {
    return;
  }
  box.hidden = false;
  if (!health.source) {
    body.innerHTML = '<p class="live-note">No Prometheus: start one with ' +
      "<code>logiflow local up --prometheus</code> and serve metrics " +
      "(<code>metrics.port</code>, docs/metrics.md).</p>";
    return;
  }
  if (health.error) {
    body.innerHTML = `<p class="live-note">${escapeHtml(health.error)}</p>`;
    return;
  }
  body.innerHTML = '<div class="figures">' + health.figures.map((f) =>
    `<div class="figure" data-label="${escapeHtml(f.label)}" data-value="${f.value ?? ""}">` +
    `<div class="value">${escapeHtml(formatHealth(f))}</div>` +
    `<div class="label">${escapeHtml(f.label)}</div></div>`).join("") + "</div>";
}

// ---- start ---------------------------------------------------------------------------------

async function start() {
  try {
    state.meta = await getJSON("/api/meta");
  } catch (error) {
    showMessage(escapeHtml(error.message), "error");
    return;
  }
  for (const value of state.meta.status_classes) $("status").add(new Option(value, value));
  readUrl();
  layoutPanels();
  try { await loadOptions(); } catch (error) { showMessage(escapeHtml(error.message), "error"); }
  $("status").value = state.status;
  if ($("range").value === "custom" && !$("start").value) $("range").value = "data";
  $("controls").addEventListener("submit", apply);
  for (const name of ["range", "service", "host", "status"]) $(name).addEventListener("change", apply);
  $("auto").addEventListener("change", schedule);
  await refresh();
  schedule();
}

start();
