// The job page: metrics (chart + table, fetched after the log has painted), log paging,
// jump to the first error, and live tail (server-sent events, or polling by offset).
(function () {
  "use strict";
  const logs = document.querySelector("[data-section=logs]");
  const job = logs.dataset.job;
  const lines = document.getElementById("log-lines");
  const more = document.getElementById("log-more");
  const state = document.getElementById("log-state");
  const params = new URLSearchParams(window.location.search);
  const filter = {level: params.get("level") || "", text: params.get("text") || ""};
  let offset = +logs.dataset.nextOffset, line = +logs.dataset.nextLine;
  let atEnd = logs.dataset.end === "1";

  function logUrl(extra) {
    const q = new URLSearchParams(Object.assign({offset: offset, line: line}, filter, extra));
    return `/jobs/${encodeURIComponent(job)}/log?` + q.toString();
  }
  function append(html) {
    const stick = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 4;
    lines.insertAdjacentHTML("beforeend", html);
    if (stick) lines.scrollTop = lines.scrollHeight;
  }
  async function loadPage(extra) {
    const r = await fetch(logUrl(extra || {}));
    if (!r.ok) { state.textContent = `log: HTTP ${r.status}`; return false; }
    append(await r.text());
    offset = +r.headers.get("X-Next-Offset");
    line = +r.headers.get("X-Next-Line");
    atEnd = r.headers.get("X-Log-End") === "1";
    more.hidden = atEnd;
    return true;
  }
  more.addEventListener("click", async () => {
    more.disabled = true;
    // a filter that matches little scans on until it shows something (8 MB per request)
    const before = lines.childElementCount;
    for (let i = 0; i < 16 && (await loadPage()) && !atEnd && lines.childElementCount === before; i++) {
      state.textContent = `scanned ${(offset / 1048576).toFixed(0)} MB`;
    }
    state.textContent = atEnd ? "end of log" : "";
    more.disabled = false;
  });

  document.getElementById("first-error").addEventListener("click", async () => {
    let at = 0, n = 0;
    state.textContent = "looking for the first error…";
    for (;;) {
      const q = new URLSearchParams({offset: at, line: n, level: "ERROR", limit: 1});
      const r = await fetch(`/jobs/${encodeURIComponent(job)}/log?` + q.toString());
      if (!r.ok) { state.textContent = `log: HTTP ${r.status}`; return; }
      const box = document.createElement("div");
      box.innerHTML = await r.text();
      const hit = box.querySelector("[data-line]");
      if (hit) {
        const number = +hit.dataset.line;
        window.location.href = `/jobs/${encodeURIComponent(job)}?offset=${hit.dataset.offset}` +
          `&line=${number - 1}#L${number}`;
        return;
      }
      if (r.headers.get("X-Log-End") === "1") { state.textContent = "no error in the log"; return; }
      at = +r.headers.get("X-Next-Offset"); n = +r.headers.get("X-Next-Line");
    }
  });

  // ---- live tail --------------------------------------------------------------------------
  const live = document.getElementById("live-tail");
  let source = null, timer = null;
  function stopTail() {
    if (source) { source.close(); source = null; }
    if (timer) { clearInterval(timer); timer = null; }
  }
  function startTail() {
    if (!atEnd || filter.level || filter.text) return;
    if (logs.dataset.live === "sse" && window.EventSource) {
      source = new EventSource(`/jobs/${encodeURIComponent(job)}/log/stream?offset=${offset}&line=${line}`);
      source.addEventListener("lines", (ev) => {
        append(ev.data);
        [offset, line] = ev.lastEventId.split(":").map(Number);
      });
      source.addEventListener("end", () => { stopTail(); state.textContent = "job finished"; });
    } else {
      timer = setInterval(() => loadPage(), 2000);
    }
  }
  if (live) {
    live.addEventListener("change", () => (live.checked ? startTail() : stopTail()));
    if (live.checked) startTail();
  }

  // ---- metrics ----------------------------------------------------------------------------
  const section = document.querySelector("[data-section=metrics]");
  const chartsBox = document.getElementById("charts");
  const choice = document.getElementById("x-choice");
  const logScale = document.getElementById("log-scale");
  let figure = null;

  function cell(v) {
    if (v == null) return "";
    if (typeof v === "number") return String(+v.toPrecision(6));
    return typeof v === "string" ? v : JSON.stringify(v);
  }
  function table(t) {
    const el = document.getElementById("metrics-table");
    const head = document.createElement("tr");
    ["timestamp"].concat(t.columns).forEach((c) => {
      const th = document.createElement("th"); th.textContent = c; head.appendChild(th);
    });
    el.tHead.replaceChildren(head);
    const body = document.createDocumentFragment();
    t.rows.forEach((r) => {
      const tr = document.createElement("tr");
      tr.setAttribute("data-metrics-row", "");
      [String(r.timestamp || "").replace("T", " ").slice(0, 23)].concat(r.values.map(cell)).forEach((v) => {
        const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    el.tBodies[0].replaceChildren(body);
    document.getElementById("metrics-count").textContent =
      t.total > t.rows.length ? `newest ${t.rows.length} of ${t.total} records; the downloads have all` : `${t.total} records`;
  }
  async function loadMetrics(x) {
    const r = await fetch(`/jobs/${encodeURIComponent(job)}/metrics.json` + (x ? `?x=${encodeURIComponent(x)}` : ""));
    if (!r.ok) { chartsBox.textContent = `metrics: HTTP ${r.status}`; return; }
    const m = await r.json();
    chartsBox.replaceChildren();
    if (!m.points) { chartsBox.innerHTML = '<p class="muted">No metrics in this log.</p>'; table(m.table); return; }
    choice.replaceChildren(...m.x_choices.map((k) => new Option(k, k, false, k === m.x)));
    document.getElementById("x-reason").textContent = `X: ${m.x_reason}`;
    if (m.chart.series.length) {
      figure = AscendChart.create(chartsBox, {x: m.chart.x, series: m.chart.series, data: m.chart.data, log: logScale.checked});
    } else {
      chartsBox.innerHTML = '<p class="muted">No numeric series besides the X axis.</p>';
    }
    table(m.table);
  }
  choice.addEventListener("change", () => loadMetrics(choice.value));
  logScale.addEventListener("change", () => figure && figure.setLog(logScale.checked));
  if (section) loadMetrics(null);
})();
