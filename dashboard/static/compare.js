// The compare page: one chart per metric, one series per job (data embedded by the server).
(function () {
  "use strict";
  const spec = JSON.parse(document.getElementById("compare-data").textContent);
  const root = document.getElementById("charts");
  if (!spec.charts.length) {
    root.innerHTML = '<p class="muted">None of these jobs logged numeric metrics.</p>';
    return;
  }
  spec.charts.forEach((c) => AscendChart.create(root, {
    title: c.metric, x: c.x, elapsed: c.x === "time", series: c.series, data: c.data, height: 220,
  }));
})();
