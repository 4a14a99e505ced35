// The console's own script: live logs (server-sent events), metric charts (uPlot), stop confirmation.
// No inline script anywhere (the pages' Content-Security-Policy forbids it): pages carry data-* attributes.
"use strict";

function followLogs(pre) {
  const state = document.getElementById("log-state");
  const source = new EventSource(pre.dataset.url);
  let count = 0;
  source.addEventListener("open", () => { state.textContent = "following"; });
  source.addEventListener("lines", (event) => {
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
    const fragment = document.createDocumentFragment();
    for (const line of JSON.parse(event.data)) {
      const row = document.createElement("div");
      row.className = "log-line";
      row.textContent = line.m;
      row.title = new Date(line.t).toISOString() + "  " + line.s;
      fragment.appendChild(row);
      count += 1;
    }
    pre.appendChild(fragment);
    pre.dataset.lines = String(count);
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  });
  source.addEventListener("end", () => {
    state.textContent = "job finished · " + count + " line(s)";
    pre.dataset.ended = "true";
    source.close();
  });
  source.addEventListener("error", () => { if (pre.dataset.ended !== "true") state.textContent = "reconnecting…"; });
}

function stats(values) {
  let min = Infinity, max = -Infinity;
  for (const v of values) { if (v < min) min = v; if (v > max) max = v; }
  return {min, max, last: values.length ? values[values.length - 1] : NaN};
}

function fmt(x) { return Number.isFinite(x) ? (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toPrecision(4)) : "–"; }

function charts(box) {
  const names = JSON.parse(box.dataset.names || "[]");
  const logBox = document.getElementById("log-scale");
  const plots = {};
  let latest = {};

  function draw(name, series, useLog) {
    let panel = box.querySelector(`[data-metric="${CSS.escape(name)}"]`);
    if (!panel) {
      panel = document.createElement("div");
      panel.className = "chart";
      panel.dataset.metric = name;
      panel.innerHTML = "<h3></h3><p class='stats'></p><div class='plot'></div>";
      panel.querySelector("h3").textContent = name;
      box.appendChild(panel);
    }
    const t = series ? series.t : [], v = series ? series.v : [];
    const s = stats(v);
    const positive = v.every((x) => x > 0);
    const logOn = useLog && positive;
    panel.querySelector(".stats").textContent =
      `points ${v.length} · min ${fmt(s.min)} · max ${fmt(s.max)} · last ${fmt(s.last)}` +
      (useLog && !positive ? " · log scale needs positive values" : "");
    panel.dataset.points = String(v.length);
    const key = name + (logOn ? ":log" : ":lin");
    const existing = plots[name];
    if (existing && existing.key === key) { existing.plot.setData([t, v]); return; }
    if (existing) existing.plot.destroy();
    const target = panel.querySelector(".plot");
    const opts = {
      width: Math.max(320, Math.min(720, box.clientWidth - 20)), height: 220,
      scales: {x: {time: true}, y: logOn ? {distr: 3} : {}},
      series: [{}, {label: name, stroke: "#2563eb", width: 1.5, points: {show: v.length < 200}}],
    };
    plots[name] = {key, plot: new uPlot(opts, [t, v], target)};
  }

  function render() {
    const all = new Set(names.concat(Object.keys(latest)));
    for (const name of all) draw(name, latest[name], logBox.checked);
  }

  let after = null;  // each poll asks only for the points after what is held
  async function poll() {
    const url = after === null ? box.dataset.url : `${box.dataset.url}${box.dataset.url.includes("?") ? "&" : "?"}after=${after}`;
    const response = await fetch(url, {credentials: "same-origin"});
    if (!response.ok) return;
    const body = await response.json();
    for (const [name, fresh] of Object.entries(body.metrics)) {
      const held = latest[name] || (latest[name] = {t: [], v: []});
      const last = held.t.length ? held.t[held.t.length - 1] : -Infinity;
      for (let i = 0; i < fresh.t.length; i++) {
        if (fresh.t[i] > last) { held.t.push(fresh.t[i]); held.v.push(fresh.v[i]); }
      }
    }
    // ask next for what came after the series that is furthest behind (the others drop what they hold)
    const lasts = Object.values(latest).filter((m) => m.t.length).map((m) => m.t[m.t.length - 1]);
    after = lasts.length ? Math.min(...lasts) : null;
    render();
    box.dataset.done = String(body.done);
    if (!body.done) setTimeout(poll, 2000);
  }
  logBox.addEventListener("change", render);
  poll();
}

function objectiveChart(box) {
  // one point per trial that reported its objective: x = trial number, y = objective value
  const values = JSON.parse(box.dataset.values || "[]");
  const xs = values.map((_, i) => i + 1);
  box.dataset.points = String(values.filter((v) => v !== null).length);
  if (!values.length) { box.textContent = "No trials yet."; return; }
  const opts = {
    width: 640, height: 220, scales: {x: {time: false}},
    series: [{label: "trial"}, {label: box.dataset.metric, stroke: "#7c3aed", width: 0, points: {show: true, size: 8}}],
  };
  new uPlot(opts, [xs, values], box);
}

function explorer(box) {
  // a neighbourhood grows one click at a time; the server bounds how many edges one click brings
  const state = document.getElementById("explore-state");
  const limitBox = document.getElementById("neighbour-limit");
  const cy = cytoscape({
    container: box, elements: [],
    style: [
      {selector: "node", style: {label: "data(id)", "font-size": 9, "background-color": "#2563eb", width: 14, height: 14}},
      {selector: "node.expanded", style: {"background-color": "#7c3aed"}},
      {selector: "edge", style: {width: 1, "line-color": "#9ca3af", "curve-style": "haystack"}},
    ],
  });
  async function expand(id) {
    state.textContent = "loading…";
    const url = `${box.dataset.url}?id=${encodeURIComponent(id)}&limit=${encodeURIComponent(limitBox.value)}`;
    const response = await fetch(url, {credentials: "same-origin"});
    if (!response.ok) { state.textContent = "the graph server did not answer (" + response.status + ")"; return; }
    const found = await response.json();
    const added = [];
    for (const node of found.nodes) {
      if (cy.getElementById(node.id).empty()) added.push({group: "nodes", data: {id: node.id, label: node.label}});
    }
    for (const edge of found.edges) {
      if (cy.getElementById("e" + edge.id).empty()) {
        added.push({group: "edges", data: {id: "e" + edge.id, source: edge.source, target: edge.target, label: edge.label}});
      }
    }
    cy.add(added);
    cy.getElementById(found.centre).addClass("expanded");
    cy.layout({name: "cose", animate: false}).run();
    box.dataset.nodes = String(cy.nodes().length);
    box.dataset.edges = String(cy.edges().length);
    state.textContent = `${cy.nodes().length} vertices, ${cy.edges().length} edges` +
      (found.more ? ` · ${found.centre} has more edges than the bound` : "");
  }
  cy.on("tap", "node", (event) => expand(event.target.id()));
  box.explorer = {cy, expand};  // a handle for the browser tests and the devtools console
  expand(box.dataset.start);
}

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"];

async function overlay(box) {
  // one chart per metric name; each job is a series, aligned on a shared time axis (uPlot.join)
  const jobs = JSON.parse(box.dataset.jobs || "[]");
  const logBox = document.getElementById("log-scale");
  const bodies = await Promise.all(jobs.map(async (job) => {
    const response = await fetch(box.dataset.urlTemplate.replace("__JOB__", encodeURIComponent(job)),
                                 {credentials: "same-origin"});
    return response.ok ? (await response.json()).metrics : {};
  }));
  const metricNames = [...new Set(bodies.flatMap((metrics) => Object.keys(metrics)))].sort();
  const plots = [];
  function render() {
    plots.splice(0).forEach((plot) => plot.destroy());
    box.replaceChildren();
    for (const name of metricNames) {
      const owners = jobs.filter((_, i) => bodies[i][name]);
      // x is seconds since each job's first value, so runs made at different times line up
      const tables = owners.map((job) => {
        const m = bodies[jobs.indexOf(job)][name];
        return [m.t.map((t) => +(t - m.t[0]).toFixed(3)), m.v];
      });
      const data = uPlot.join(tables);
      const positive = tables.every(([, v]) => v.every((x) => x > 0));
      const panel = document.createElement("div");
      panel.className = "chart";
      panel.dataset.metric = name;
      panel.dataset.series = String(owners.length);
      panel.dataset.points = tables.map(([, v]) => v.length).join(",");
      panel.innerHTML = "<h3></h3><p class='stats'></p><div class='plot'></div>";
      panel.querySelector("h3").textContent = name;
      panel.querySelector(".stats").textContent = owners.map((job, i) => {
        const s = stats(tables[i][1]);
        return `${job}: last ${fmt(s.last)} (min ${fmt(s.min)}, max ${fmt(s.max)})`;
      }).join(" · ");
      box.appendChild(panel);
      const opts = {
        width: Math.max(320, Math.min(900, box.clientWidth - 20)), height: 260,
        scales: {x: {time: false}, y: logBox.checked && positive ? {distr: 3} : {}},
        axes: [{label: "seconds since the job's first value"}, {}],
        series: [{label: "s"}].concat(owners.map((job, i) => ({label: job, stroke: PALETTE[i % PALETTE.length], width: 1.5,
                                                       spanGaps: true}))),
      };
      plots.push(new uPlot(opts, data, panel.querySelector(".plot")));
    }
    box.dataset.charts = String(metricNames.length);
  }
  logBox.addEventListener("change", render);
  render();
}

document.addEventListener("DOMContentLoaded", () => {
  const overlayBox = document.getElementById("overlay");
  if (overlayBox) overlay(overlayBox);
  const graphBox = document.getElementById("explorer");
  if (graphBox) explorer(graphBox);
  const objective = document.getElementById("objective-chart");
  if (objective) objectiveChart(objective);
  const log = document.getElementById("log");
  if (log) followLogs(log);
  const box = document.getElementById("charts");
  if (box) charts(box);
  document.addEventListener("submit", (event) => {
    const button = event.target.querySelector("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
});
