// sweep.html: each KPI against each axis, one line per value of the other axes, error bars across seeds.
(function () {
  "use strict";
  var P = window.P2P;
  var D = P.data();
  var colors = P.colors.runs;

  D.charts.forEach(function (chart, i) {
    var el = document.getElementById("chart-" + i);
    var traces = chart.lines.map(function (line, j) {
      return { x: line.x, y: line.y, type: "scatter", mode: "lines+markers", name: line.name,
        error_y: { type: "data", array: line.spread, visible: true },
        line: { color: colors[j % colors.length], width: 2 }, marker: { size: 7 },
        customdata: line.runs,
        hovertemplate: line.name + ": %{y:.4g} (%{customdata} runs)<extra></extra>" };
    });
    if (!traces.length) return P.empty(el, "No run of this sweep finished.");
    P.draw(el, traces, P.layout({ height: 340, xaxis: { title: { text: chart.axis }, type: "category" },
      yaxis: { title: { text: chart.title } } }));
  });
  P.ready();
})();
