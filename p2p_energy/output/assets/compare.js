// compare.html: the runs' per-slot energy and prices and their gas, one colour per run.
(function () {
  "use strict";
  var P = window.P2P;
  var D = P.data();
  var runs = D.runs;
  var colors = P.colors.runs;

  function color(i) { return colors[i % colors.length]; }

  // Runs with the same figures would hide each other: each also has a dash of its own.
  function dash(i) { return ["solid", "dash", "dot", "dashdot"][i % 4]; }

  // One time axis for all runs: from the earliest slot start to the latest slot end.
  function sharedAxis() {
    var starts = [], ends = [];
    runs.forEach(function (run) {
      var axis = P.slotAxis(run.slots);
      if (axis.n) { starts.push(axis.starts[0]); ends.push(axis.ends[axis.n - 1]); }
    });
    if (!starts.length) return null;
    var from = Math.min.apply(null, starts), to = Math.max.apply(null, ends);
    var step = Math.max(15, Math.ceil((to - from) / P.tickCount() / 15) * 15);
    var ticks = [];
    for (var m = from; m <= to; m += step) ticks.push(m);
    return { range: [from, to], tickvals: ticks, ticktext: ticks.map(P.hhmm), title: { text: "delivery slot" },
      showgrid: false };
  }

  function tradedChart(xaxis) {
    var el = document.getElementById("chart-traded");
    if (!xaxis) return P.empty(el, "No slots in these runs.");
    var traces = runs.map(function (run, i) {
      var axis = P.slotAxis(run.slots);
      var line = P.steps(axis, run.slots.traded_wh.map(function (wh) { return wh / 1000; }));
      return { x: line.x, y: line.y, type: "scatter", mode: "lines", name: run.label,
        line: { shape: "hv", color: color(i), width: 2, dash: dash(i) }, hovertemplate: run.label + ": %{y:.2f} kWh<extra></extra>" };
    });
    return P.draw(el, traces, P.layout({ xaxis: xaxis, yaxis: { title: { text: "kWh traded per slot" }, rangemode: "tozero" } }));
  }

  function priceChart(xaxis) {
    var el = document.getElementById("chart-price");
    var any = runs.some(function (run) { return run.slots.mean.some(function (v) { return v !== null; }); });
    if (!xaxis || !any) return P.empty(el, "No trades in these runs: there are no prices to compare.");
    var traces = [];
    var prices = [];
    runs.forEach(function (run, i) {
      var axis = P.slotAxis(run.slots);
      var mean = run.slots.mean.map(function (v) { return v === null ? null : v / 1e8; });
      mean.forEach(function (v) { if (v !== null) prices.push(v); });
      traces.push({ x: axis.centres, y: mean, type: "scatter", mode: axis.n <= 48 ? "lines+markers" : "lines",
        name: run.label, line: { color: color(i), width: 2, dash: dash(i) }, marker: { size: 5 },
        hovertemplate: run.label + ": %{y:.4f} NRG/kWh<extra></extra>" });
    });
    var tariffs = runs.map(function (run) { return run.grid_tariff === null ? null : run.grid_tariff / 1e8; });
    var known = tariffs.filter(function (t) { return t !== null; });
    var fit = P.priceRange(prices, known.length ? Math.max.apply(null, known) : null);
    var shapes = [];
    var notes = [];
    tariffs.forEach(function (t, i) {
      if (t === null) return;
      if (fit.tariffFits) {
        shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: t, y1: t, line: { color: color(i), dash: "dot", width: 1.5 } });
      } else {
        notes.push(runs[i].label + " " + P.nrg(runs[i].grid_tariff));
      }
    });
    var annotations = notes.length ? [{ xref: "paper", yref: "paper", x: 1, y: 1, xanchor: "right", yanchor: "top",
      showarrow: false, text: "grid tariffs above this range ↑: " + notes.join(", "), font: { color: P.colors.loss } }] : [];
    return P.draw(el, traces, P.layout({ xaxis: xaxis, shapes: shapes, annotations: annotations,
      yaxis: { title: { text: "mean price, NRG per kWh" }, tickformat: ".3f", range: fit.range } }));
  }

  function gasCharts() {
    var perTrade = document.getElementById("chart-gas-trade");
    var byOp = document.getElementById("chart-gas-ops");
    var labels = runs[0].per_settled.map(function (row) { return row[0]; });
    var traces = runs.map(function (run, i) {
      return { x: labels, y: run.per_settled.map(function (row) { return row[1]; }), type: "bar", name: run.label,
        marker: { color: color(i) }, hovertemplate: run.label + ", %{x}: %{y:,} gas<extra></extra>" };
    });
    if (runs.every(function (run) { return run.per_settled[0][1] === null; })) {
      P.empty(perTrade, "No run settled a trade.");
    } else {
      P.draw(perTrade, traces, P.layout({ barmode: "group", bargap: 0.25, yaxis: { title: { text: "gas per settled trade" }, tickformat: "," } }));
    }
    var ops = [];
    runs.forEach(function (run) { Object.keys(run.gas).forEach(function (op) { if (ops.indexOf(op) < 0) ops.push(op); }); });
    if (!ops.length) return P.empty(byOp, "No gas was recorded in these runs.");
    ops.sort();
    var opTraces = runs.map(function (run, i) {
      return { x: ops, y: ops.map(function (op) { return run.tx[op] ? Math.floor(run.gas[op] / run.tx[op]) : null; }),
        type: "bar", name: run.label, marker: { color: color(i) },
        hovertemplate: run.label + ", %{x}: %{y:,} gas per transaction<extra></extra>" };
    });
    return P.draw(byOp, opTraces, P.layout({ barmode: "group", bargap: 0.25,
      yaxis: { title: { text: "gas per transaction" }, tickformat: "," } }));
  }

  // Grouped bars, a group per category and a bar per run that has the figures (kpis in its report).
  function kpiBars(id, categories, pick, yaxis, hover, none) {
    var el = document.getElementById(id);
    var traces = [];
    runs.forEach(function (run, i) {
      if (!run.kpis) return;
      traces.push({ x: categories, y: categories.map(function (c, k) { return pick(run, k); }), type: "bar",
        name: run.label, marker: { color: color(i) }, hovertemplate: run.label + ", %{x}: " + hover + "<extra></extra>" });
    });
    if (!traces.length) return P.empty(el, none);
    return P.draw(el, traces, P.layout({ barmode: "group", bargap: 0.25, yaxis: yaxis }));
  }

  function kpiChart() {
    var keys = ["self_sufficiency", "self_consumption", "local_trade_share"];
    return kpiBars("chart-kpis", ["self-sufficiency", "self-consumption", "local trade share"],
      function (run, k) { var v = run.kpis[keys[k]]; return v === null ? null : v * 100; },
      { title: { text: "share" }, ticksuffix: " %", rangemode: "tozero" }, "%{y:.1f} %",
      "These reports were written before bills and KPIs were kept.");
  }

  // Bills in NRG; per household where the runs' households differ (their totals would not compare).
  function billsChart() {
    var sizes = runs.map(function (run) { return run.households; });
    var perHousehold = sizes.some(function (n) { return n !== sizes[0]; });
    var keys = ["bills_grid_only", "bills_with_market", "saving"];
    return kpiBars("chart-bills", ["bills grid only", "bills with the market", "saving vs grid"],
      function (run, k) { return run.kpis[keys[k]] / 1e8 / (perHousehold ? Math.max(run.households, 1) : 1); },
      { title: { text: perHousehold ? "NRG per household" : "NRG, all households" }, tickformat: ",.2f" },
      "%{y:,.4f} NRG", "These reports were written before bills and KPIs were kept.");
  }

  var xaxis = sharedAxis();
  kpiChart();
  billsChart();
  tradedChart(xaxis);
  priceChart(xaxis);
  gasCharts();
  P.ready();
})();
