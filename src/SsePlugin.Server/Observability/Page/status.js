// The status page: polls /api/status and draws what it says. Plain JavaScript, no framework; charts by uPlot.
"use strict";

const PollMs = 1500;
const Palette = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#57606a"];
const charts = {};
let chartKey = "";

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function copyButton(text) {
  const button = element("button", { class: "copy", type: "button", title: "Copy" }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      // No clipboard (plain http beyond localhost): select the text for Ctrl+C instead.
      const range = document.createRange();
      range.selectNodeContents(button.previousSibling);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = "Selected";
    }
    setTimeout(() => (button.textContent = "Copy"), 1500);
  });
  return button;
}

function date(text) {
  return new Date(text).toISOString().slice(0, 10);
}

function describeConnection(connection) {
  const box = element("div", { class: "connection", "data-connection": connection.name });
  box.append(element("h3", {}, `${connection.name} — ${connection.transport} on port ${connection.port}`));
  const health = element("span", { class: connection.health === "SERVING" ? "serving" : "not-serving" },
    connection.health);
  const facts = element("div", { class: "facts" },
    element("span", {}, "Health: ", health),
    element("span", {}, "Scripts: ", element("b", {}, connection.scriptEngine || "off")),
    element("span", {}, "Functions: ", element("b", {}, connection.functions.length)));
  if (connection.certificate) {
    const certificate = connection.certificate;
    const first = new Date(certificate.server) < new Date(certificate.root) ? certificate.server : certificate.root;
    const days = Math.floor((new Date(first) - Date.now()) / 86400000);
    facts.append(element("span", { class: certificate.warning ? "warning cert" : "cert" },
      `Certificate expires ${date(certificate.server)}, root ${date(certificate.root)}`
      + (certificate.warning ? ` — renew it: ${days} days left` : "")));
  }
  box.append(facts);
  for (const problem of connection.failing) box.append(element("div", { class: "error" }, problem));

  const qmc = element("dl", { class: "qmc" });
  const field = (name, value) => qmc.append(element("dt", {}, name), element("dd", {}, element("code", {}, value),
    copyButton(value)));
  field("QMC Name", connection.alias);
  field("Host", connection.host);
  field("Port", String(connection.port));
  field("Certificate file path", connection.certs
    ? "the folder of Qlik's client certificates (root_cert.pem, sse_client_cert.pem, sse_client_key.pem)"
    : "(empty: plaintext)");
  box.append(element("div", { class: "note" }, "In QMC, Analytic connections → Create new:"), qmc);

  const rows = connection.functions.map(f => element("tr", { "data-function": f.name },
    element("td", {}, f.id), element("td", {}, f.type), element("td", {}, element("code", {}, f.syntax),
      copyButton(f.syntax)), element("td", {}, f.returnType)));
  box.append(element("table", { class: "functions" },
    element("thead", {}, element("tr", {}, element("th", {}, "Id"), element("th", {}, "Type"),
      element("th", {}, "Qlik syntax"), element("th", {}, "Returns"))),
    element("tbody", {}, ...rows)));
  return box;
}

// Latency has a point only where calls ended: its points are drawn, as lines alone would hide a lone one.
function chartOptions(names, dashedFrom, points) {
  const width = Math.max(320, Math.min(460, (document.querySelector("main").clientWidth - 110) / 3));
  return {
    width, height: 220,
    scales: { x: { time: true } },
    legend: { live: false },
    series: [{}, ...names.map((name, i) => ({
      label: name,
      stroke: Palette[(dashedFrom ? i % dashedFrom : i) % Palette.length],
      dash: dashedFrom && i >= dashedFrom ? [4, 4] : undefined,
      width: 1.5,
      spanGaps: false,
      points: { show: !!points, size: 4 },
    }))],
  };
}

function drawCharts(series) {
  document.getElementById("no-calls").hidden = series.length > 0;
  if (series.length === 0) return;
  const names = series.map(s => `${s.connection}/${s.function}`);
  const times = series[0].times;
  const data = {
    calls: [times, ...series.map(s => s.callsPerSecond)],
    latency: [times, ...series.map(s => s.p50), ...series.map(s => s.p99)],
    errors: [times, ...series.map(s => s.errors)],
  };
  const key = names.join("|");
  if (key !== chartKey) {
    chartKey = key;
    for (const [name, chart] of Object.entries(charts)) {
      chart.destroy();
      delete charts[name];
    }
    charts.calls = new uPlot(chartOptions(names), data.calls, document.getElementById("chart-calls"));
    charts.latency = new uPlot(chartOptions([...names.map(n => `${n} p50`), ...names.map(n => `${n} p99`)],
      names.length, true), data.latency, document.getElementById("chart-latency"));
    charts.errors = new uPlot(chartOptions(names), data.errors, document.getElementById("chart-errors"));
  } else {
    for (const name of Object.keys(charts)) charts[name].setData(data[name]);
  }
  // For tests and for the curious: how many calls the charts hold.
  document.getElementById("chart-calls").dataset.calls =
    String(series.reduce((sum, s) => sum + s.calls.reduce((a, b) => a + b, 0), 0));
}

function drawErrors(errors) {
  const body = document.querySelector("#errors tbody");
  body.replaceChildren(...errors.map(e => element("tr", {},
    element("td", {}, new Date(e.time).toLocaleTimeString()), element("td", {}, e.connection),
    element("td", {}, e.function), element("td", { class: "error" }, e.status),
    element("td", { class: "message" }, e.message))));
  document.getElementById("no-errors").hidden = errors.length > 0;
}

let connectionsKey = "";

function draw(status) {
  document.getElementById("version").textContent = status.version;
  const uptime = Math.round((new Date(status.now) - new Date(status.started)) / 60000);
  document.getElementById("summary").textContent = `on ${status.machine} · up ${uptime} min · `
    + `${status.inFlight} calls in flight (limit ${status.maxConcurrentCalls || "none"}) · `
    + `updated ${new Date().toLocaleTimeString()}`
    + (status.metricsEnabled ? "" : " · metrics off (SsePlugin:Metrics:Enabled)");
  const key = JSON.stringify(status.connections);
  if (key !== connectionsKey) {
    connectionsKey = key;
    document.getElementById("connections").replaceChildren(...status.connections.map(describeConnection));
  }
  drawCharts(status.series);
  drawErrors(status.errors);
}

async function poll() {
  const problem = document.getElementById("problem");
  try {
    const response = await fetch("api/status", { cache: "no-store" });
    if (!response.ok) throw new Error(`The host answered ${response.status}: ${await response.text()}`);
    draw(await response.json());
    problem.hidden = true;
  } catch (e) {
    problem.textContent = `Cannot read the status: ${e.message}`;
    problem.hidden = false;
  }
  setTimeout(poll, PollMs);
}

poll();
