// Charts of the dashboard (uPlot), each a figure[data-chart][data-x] with its own legend:
// a click shows only that series (a second click on the only one shown shows all again),
// Ctrl/Cmd+click turns one series on or off. Each legend entry is [data-series=NAME] with
// aria-pressed="true" while drawn. figure.uplot is the chart (its series[i].show is the truth).
(function () {
  "use strict";
  const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function fmt(v) {
    if (v == null || Number.isNaN(v)) return "–";
    const a = Math.abs(v);
    return (a !== 0 && (a < 1e-3 || a >= 1e6)) ? v.toExponential(3) : String(+v.toPrecision(6));
  }

  function create(parent, spec) {
    const figure = document.createElement("figure");
    figure.className = "chart";
    figure.dataset.chart = spec.title || "";
    figure.dataset.x = spec.x;
    if (spec.title) {
      const h = document.createElement("h3");
      h.textContent = spec.title;
      figure.appendChild(h);
    }
    const plot = document.createElement("div");
    figure.appendChild(plot);
    const legend = document.createElement("figcaption");
    legend.className = "legend";
    figure.appendChild(legend);
    parent.appendChild(figure);
    const isTime = spec.x === "time" && !spec.elapsed;
    const shown = spec.series.map(() => true);
    let u = null;
    const buttons = spec.series.map((name, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.series = name;
      b.setAttribute("aria-pressed", "true");
      b.innerHTML = '<i class="swatch"></i><span class="name"></span> <span class="val"></span>';
      b.querySelector(".swatch").style.background = COLOURS[i % COLOURS.length];
      b.querySelector(".name").textContent = name;
      b.addEventListener("click", (ev) => onClick(i, ev.ctrlKey || ev.metaKey));
      legend.appendChild(b);
      return b;
    });

    function apply() {
      shown.forEach((on, i) => {
        buttons[i].setAttribute("aria-pressed", on ? "true" : "false");
        if (u && u.series[i + 1].show !== on) u.setSeries(i + 1, {show: on});
      });
    }
    function onClick(i, toggle) {
      if (toggle) {
        shown[i] = !shown[i];
      } else {
        const only = shown[i] && shown.every((on, j) => on === (j === i));
        shown.forEach((_, j) => { shown[j] = only ? true : j === i; });
      }
      apply();
    }
    function positive(col) { return col.map((v) => (v == null || v <= 0 ? null : v)); }
    function draw(log) {
      if (u) u.destroy();
      const data = [spec.data[0], ...spec.data.slice(1).map((c) => (log ? positive(c) : c))];
      const width = Math.max(320, (parent.clientWidth || 800) - 8);
      u = new uPlot({
        width: width, height: spec.height || 300,
        scales: {x: {time: isTime}, y: {distr: log ? 3 : 1}},
        axes: [{label: spec.x === "time" ? (spec.elapsed ? "seconds since start" : "time") : spec.x},
               {size: 70}],
        legend: {show: false},
        cursor: {drag: {x: true, y: false}},
        series: [{label: spec.x}].concat(spec.series.map((name, i) => ({
          label: name, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true,
          show: shown[i], points: {show: spec.data[0].length <= 60},
        }))),
        hooks: {setCursor: [(self) => {
          const idx = self.cursor.idx;
          buttons.forEach((b, i) => {
            b.querySelector(".val").textContent = idx == null ? "" : fmt(self.data[i + 1][idx]);
          });
        }]},
      }, data, plot);
      figure.uplot = u;
    }
    draw(!!spec.log);
    figure.setLog = draw;
    return figure;
  }

  window.AscendChart = {create: create};
})();
