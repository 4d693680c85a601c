// report.html: draws the run's charts, the household view and the trades table from #report-data.
(function () {
  "use strict";
  var P = window.P2P;
  var D = P.data();
  var S = D.slots;
  var H = D.households;
  var T = D.trades;
  var F = D.facts;
  var C = P.colors;
  var axis = P.slotAxis(S);
  var ROWS = 200;
  var CHARTS = D.charts || [];

  // The charts defined once in Python: the neighbourhood's, and the picked household's in its day.
  function specCharts() {
    CHARTS.forEach(function (spec) { P.slotChart(document.getElementById("chart-" + spec.key), spec, axis, spec.columns, false); });
  }

  function householdSpecCharts(h) {
    CHARTS.forEach(function (spec) {
      if (!spec.household_columns) return;
      var columns = {};
      Object.keys(spec.household_columns).forEach(function (name) { columns[name] = spec.household_columns[name][h]; });
      var drawn = Object.assign({}, spec, { title: spec.title + " — " + H.name[h] });
      P.slotChart(document.getElementById("chart-" + spec.key + "-household"), drawn, axis, columns, true);
    });
  }

  function max(values) {
    return values.reduce(function (m, v) { return v !== null && v > m ? v : m; }, 0);
  }

  function kwhs(values) { return values.map(function (wh) { return wh / 1000; }); }

  function legendOnly(name, color, symbol) {
    return { x: [null], y: [null], type: "scatter", mode: "markers", name: name, hoverinfo: "skip",
      marker: { symbol: symbol || "square", size: 12, color: color } };
  }

  // Grey bands over the cloudy slots, red strips under the slots whose meter sent no readings.
  function faultShapes(onlyHousehold) {
    var shapes = [];
    var notes = [];
    var traces = [];
    if (!F) return { shapes: shapes, annotations: notes, traces: traces };
    F.cloudy.forEach(function (i) {
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0: axis.starts[i], x1: axis.ends[i], y0: 0, y1: 1,
        fillcolor: C.cloud, line: { width: 0 }, layer: "below" });
      notes.push({ x: (axis.starts[i] + axis.ends[i]) / 2, y: 1, xref: "x", yref: "paper", yanchor: "top",
        text: "cloud", showarrow: false, font: { size: 11, color: "#555" } });
    });
    if (F.cloudy.length) traces.push(legendOnly("unforecast cloud (PV ×" + F.cloud_factor + ")", C.cloud));
    var offline = F.offline.filter(function (o) { return !onlyHousehold || o[0] === onlyHousehold; });
    offline.forEach(function (o, row) {
      var y0 = 0.01 + 0.06 * row;
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0: axis.starts[o[1]], x1: axis.ends[o[2]],
        y0: y0, y1: y0 + 0.04, fillcolor: C.offline, line: { width: 0 } });
      notes.push({ x: axis.ends[o[2]], y: y0 + 0.02, xref: "x", yref: "paper", xanchor: "left",
        text: o[0] + " offline", showarrow: false, font: { size: 11, color: C.loss }, bgcolor: "rgba(255,255,255,0.85)" });
    });
    if (offline.length) traces.push(legendOnly("meter offline (no readings)", C.offline));
    return { shapes: shapes, annotations: notes, traces: traces };
  }

  // Generation as bars as wide as the slots (a filled step), drawn first so the trade bars stand on it.
  function pvBars(wh) {
    return { x: axis.centres, y: kwhs(wh), type: "bar", width: axis.minutes, name: "generated (PV)",
      marker: { color: "rgba(242,201,76,0.45)", line: { width: 0 } }, hoverinfo: "skip" };
  }

  // One invisible point per slot that carries the slot's whole tooltip.
  function hoverTrace(texts, y) {
    return { x: axis.centres, y: y, type: "scatter", mode: "markers", marker: { opacity: 0, size: 1 },
      text: texts, hovertemplate: "%{text}<extra></extra>", showlegend: false };
  }

  function energyChart() {
    var el = document.getElementById("chart-energy");
    if (!axis.n) return P.empty(el, "No slots in this run.");
    var width = axis.minutes;
    var load = P.steps(axis, kwhs(S.load_wh));
    var offered = P.steps(axis, kwhs(S.offered_wh));
    var refunded = [];
    S.refunded_trades.forEach(function (r, i) { if (r) refunded.push(i); });
    var faults = faultShapes(null);
    var texts = S.label.map(function (_, i) {
      return "<b>" + axis.span(i) + "</b><br>generated " + P.kwh(S.generated_wh[i]) + " kWh<br>load " +
        P.kwh(S.load_wh[i]) + " kWh<br>offered " + P.kwh(S.offered_wh[i]) + " kWh (on the forecast)<br>traded " +
        P.kwh(S.traded_wh[i]) + " kWh in " + P.number(S.trades[i]) + " trades<br>delivered " +
        P.kwh(S.delivered_wh[i]) + " kWh" + (S.refunded_trades[i] ? "<br>" + S.refunded_trades[i] +
        " trades refunded in full" : "") + (F && F.cloudy.indexOf(i) >= 0 ? "<br>unforecast cloud" : "");
    });
    var traces = [
      pvBars(S.generated_wh),
      { x: load.x, y: load.y, type: "scatter", mode: "lines", line: { shape: "hv", dash: "dash", color: C.load },
        name: "load", hoverinfo: "skip" },
      { x: offered.x, y: offered.y, type: "scatter", mode: "lines", line: { shape: "hv", width: 2, color: C.offered },
        name: "offered (on the forecast)", hoverinfo: "skip" },
      { x: axis.centres, y: kwhs(S.traded_wh), type: "bar", width: width * 0.8, marker: { color: C.traded },
        name: "traded", hoverinfo: "skip" },
      { x: axis.centres, y: kwhs(S.delivered_wh), type: "bar", width: width * 0.45, marker: { color: C.delivered },
        name: "delivered (meter-proven)", hoverinfo: "skip" },
      { x: refunded.map(function (i) { return axis.centres[i]; }),
        y: refunded.map(function (i) { return S.traded_wh[i] / 1000; }),
        text: refunded.map(function (i) { return String(S.refunded_trades[i]); }),
        type: "scatter", mode: axis.n <= 48 ? "markers+text" : "markers", textposition: "top center",
        textfont: { color: C.loss, size: 11 },
        marker: { symbol: "triangle-down", size: 11, color: C.loss }, name: "trades refunded in full",
        hoverinfo: "skip", visible: refunded.length ? true : false, showlegend: refunded.length > 0 },
    ].concat(faults.traces, [hoverTrace(texts, kwhs(S.traded_wh))]);
    var top = Math.max(max(S.generated_wh), max(S.load_wh), max(S.offered_wh), 1) / 1000;
    return P.draw(el, traces, P.layout({
      barmode: "overlay", hovermode: "x", shapes: faults.shapes, annotations: faults.annotations,
      xaxis: axis.xaxis, yaxis: { title: { text: "kWh per slot" }, range: [0, top * 1.12], rangemode: "tozero" },
      margin: { l: 64, r: 120, t: 56, b: 48 },
    }));
  }

  // The feed-in tariff, what a seller gets from the grid instead: drawn where it is no further below the
  // prices than their span (the range is widened to it), else named at the bottom as out of range.
  function feedInTariff(range, shapes, notes) {
    if (!F || !F.feed_in_tariff) return;
    var feedIn = F.feed_in_tariff / 1e8;
    var span = range[1] - range[0];
    var text = "feed-in tariff " + P.nrg(F.feed_in_tariff) + " NRG/kWh";
    if (range[0] - feedIn > span) {
      notes.push({ xref: "paper", yref: "paper", x: 1, y: 0, yanchor: "bottom", xanchor: "right", showarrow: false,
        text: text + ": below this range ↓", font: { color: C.gain } });
      return;
    }
    range[0] = Math.min(range[0], feedIn - span * 0.05);
    shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: feedIn, y1: feedIn,
      line: { color: C.gain, width: 2, dash: "dot" } });
    notes.push({ xref: "paper", x: 1, y: feedIn, yanchor: "bottom", xanchor: "right", showarrow: false,
      text: text, font: { color: C.gain } });
  }

  // The traded volume's axis (right): from 0 to `top` or a little more, ticked at a round step (1, 2 or 5 x 10^k).
  function volumeAxis(top) {
    var rough = Math.max(top, 0.001) / 4;
    var power = Math.pow(10, Math.floor(Math.log10(rough)));
    var step = [1, 2, 5, 10].map(function (m) { return m * power; }).filter(function (s) { return s >= rough; })[0];
    return { title: { text: "traded kWh" }, overlaying: "y", side: "right", showgrid: false, tickmode: "linear",
      tick0: 0, dtick: step, range: [0, step * Math.ceil(Math.max(top, 0.001) / step)] };
  }

  function priceChart() {
    var el = document.getElementById("chart-price");
    var withTrades = [];
    S.trades.forEach(function (n, i) { if (n && S.low[i] !== null) withTrades.push(i); });
    if (!withTrades.length) return P.empty(el, "No trades in this run: there are no prices to show.");
    var nrg = function (v) { return v === null ? null : v / 1e8; };
    var tariff = F ? F.grid_tariff / 1e8 : null;
    var prices = [];
    withTrades.forEach(function (i) { prices.push(S.low[i] / 1e8, S.high[i] / 1e8); });
    S.clearing.forEach(function (v) { if (v !== null) prices.push(v / 1e8); });
    var fit = P.priceRange(prices, tariff);
    var uniform = S.clearing.some(function (v) { return v !== null; });
    var clearing = P.steps(axis, S.clearing.map(nrg));
    var texts = S.label.map(function (_, i) {
      var t = "<b>" + axis.span(i) + "</b><br>" + P.number(S.trades[i]) + " trades, " + P.kwh(S.traded_wh[i]) + " kWh";
      if (S.low[i] !== null) {
        t += "<br>prices " + P.nrg(S.low[i]) + "–" + P.nrg(S.high[i]) + " NRG/kWh<br>mean " + P.nrg(S.mean[i]);
      }
      if (S.clearing[i] !== null) t += "<br>clearing price " + P.nrg(S.clearing[i]);
      return t;
    });
    var traces = [
      { x: axis.centres, y: kwhs(S.traded_wh), type: "bar", yaxis: "y2", width: axis.minutes * 0.92,
        marker: { color: "rgba(150,150,150,0.35)" }, name: "traded kWh (right axis)", hoverinfo: "skip" },
      { x: withTrades.map(function (i) { return axis.centres[i]; }),
        y: withTrades.map(function (i) { return (S.high[i] - S.low[i]) / 1e8; }),
        base: withTrades.map(function (i) { return S.low[i] / 1e8; }), type: "bar", width: axis.minutes * 0.6,
        marker: { color: "rgba(158,202,225,0.85)" }, name: "range of trade prices", hoverinfo: "skip" },
      { x: axis.centres, y: S.mean.map(nrg), type: "scatter", mode: axis.n <= 48 ? "lines+markers" : "lines",
        line: { color: C.delivered, width: 2 }, marker: { size: 6 }, name: "mean price (volume-weighted)",
        hoverinfo: "skip", connectgaps: false },
    ];
    if (uniform) {
      traces.push({ x: clearing.x, y: clearing.y, type: "scatter", mode: "lines", name: "clearing price",
        line: { shape: "hv", dash: "dash", color: C.offered }, hoverinfo: "skip" });
    }
    traces.push(hoverTrace(texts, S.mean.map(function (v, i) { return v === null ? fit.range[0] : v / 1e8; })));
    var shapes = [];
    var notes = [];
    if (tariff !== null && fit.tariffFits) {
      shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: tariff, y1: tariff,
        line: { color: C.loss, width: 2, dash: "dot" } });
      notes.push({ xref: "paper", x: 1, y: tariff, yanchor: "bottom", xanchor: "right", showarrow: false,
        text: "grid tariff " + P.nrg(F.grid_tariff) + " NRG/kWh", font: { color: C.loss } });
    } else if (tariff !== null) {
      notes.push({ xref: "paper", yref: "paper", x: 1, y: 1, yanchor: "top", xanchor: "right", showarrow: false,
        text: "grid tariff " + P.nrg(F.grid_tariff) + " NRG/kWh: above this range ↑", font: { color: C.loss } });
    }
    feedInTariff(fit.range, shapes, notes);
    return P.draw(el, traces, P.layout({
      barmode: "overlay", hovermode: "x", shapes: shapes, annotations: notes, xaxis: axis.xaxis,
      yaxis: { title: { text: "NRG per kWh" }, range: fit.range, tickformat: ".3f" },
      yaxis2: volumeAxis(max(S.traded_wh) / 1000 * 3),
      margin: { l: 64, r: 64, t: 56, b: 48 },
    }));
  }

  function rankedHouseholds() {
    var order = H.name.map(function (_, i) { return i; });
    var net = H.end.map(function (e, i) { return e - H.start[i]; });
    order.sort(function (a, b) { return net[b] - net[a] || (H.name[a] < H.name[b] ? -1 : 1); });
    return { order: order, net: net };
  }

  function balanceChart() {
    var el = document.getElementById("chart-balance");
    if (!H.name.length) return P.empty(el, "No households in this run.");
    var ranked = rankedHouseholds();
    var values = ranked.order.map(function (i) { return ranked.net[i] / 1e8; });
    var names = ranked.order.map(function (i) { return H.name[i]; });
    var colors = values.map(function (v) { return v > 0 ? C.gain : C.loss; });
    var few = names.length <= 40;
    var trace = few
      ? { x: values, y: names, type: "bar", orientation: "h", marker: { color: colors },
        hovertemplate: "%{y}: %{x:+.4f} NRG<extra></extra>" }
      : { x: names.map(function (_, r) { return r + 1; }), y: values, customdata: names, type: "bar",
        marker: { color: colors }, hovertemplate: "%{customdata}: %{y:+.4f} NRG (rank %{x})<extra></extra>" };
    var chartLayout = few
      ? P.layout({ height: Math.max(260, 80 + 20 * names.length), margin: { l: 110, r: 24, t: 30, b: 44 },
        xaxis: { title: { text: "net balance change (NRG)" }, zeroline: true },
        yaxis: { autorange: "reversed", automargin: true, type: "category" }, showlegend: false })
      : P.layout({ margin: { l: 64, r: 24, t: 30, b: 44 }, showlegend: false, bargap: 0,
        xaxis: { title: { text: "households ranked by net balance (1 = largest gain)" } },
        yaxis: { title: { text: "net balance change (NRG)" }, zeroline: true } });
    return P.draw(el, [trace], chartLayout).then(function () {
      el.on("plotly_click", function (event) {
        var point = event.points[0];
        selectHousehold(few ? point.y : point.customdata, true);
      });
    });
  }

  // -- bills against the grid-only baseline -------------------------------------------------------

  function share(v) { return v === null ? "–" : P.number(100 * v, 1) + "%"; }

  function billsChart() {
    var el = document.getElementById("chart-bills");
    var B = D.bills;
    if (!el || !B) return null;  // a report written before bills: the section says so, without a chart
    if (!H.name.length) return P.empty(el, "No households in this run.");
    var order = H.name.map(function (_, i) { return i; });
    order.sort(function (a, b) { return B.saving[b] - B.saving[a] || (H.name[a] < H.name[b] ? -1 : 1); });
    var names = order.map(function (i) { return H.name[i]; });
    var tips = order.map(function (i) {
      return "<b>" + H.name[i] + "</b><br>grid-only " + P.nrg(B.bill_grid_only[i]) + " NRG<br>with the market " +
        P.nrg(B.bill_with_market[i]) + " NRG<br>saving " + P.nrg(B.saving[i]) + " NRG<br>self-sufficiency " +
        share(B.self_sufficiency[i]) + "<br>self-consumption " + share(B.self_consumption[i]) +
        "<br>local trade share " + share(B.local_trade_share[i]);
    });
    var nrg = function (key) { return order.map(function (i) { return B[key][i] / 1e8; }); };
    var few = names.length <= 40;
    var series = [["bill_grid_only", "grid-only", "#bbbbbb"], ["bill_with_market", "with the market", C.delivered]];
    // Too many households to label: each one's saving, ranked, as one falling curve of bars (two bills
    // per household would zigzag, since bills and savings do not rank alike); the bills are in the tips.
    var savings = nrg("saving");
    var traces = few
      ? series.map(function (s) {
        return { x: nrg(s[0]), y: names, type: "bar", orientation: "h", name: s[1], marker: { color: s[2] },
          hovertext: tips, hovertemplate: "%{hovertext}<extra></extra>" };
      })
      : [{ x: names.map(function (_, r) { return r + 1; }), y: savings, customdata: names, type: "bar",
        name: "saving", marker: { color: savings.map(function (v) { return v >= 0 ? C.delivered : "#cb181d"; }) },
        hovertext: tips, hovertemplate: "%{hovertext}<extra></extra>" }];
    var chartLayout = few
      ? P.layout({ barmode: "group", height: Math.max(300, 90 + 30 * names.length),
        margin: { l: 110, r: 24, t: 40, b: 44 }, hovermode: "closest",
        xaxis: { title: { text: "bill over the run (NRG; below 0: the household earned)" }, zeroline: true },
        yaxis: { autorange: "reversed", automargin: true, type: "category" } })
      : P.layout({ margin: { l: 64, r: 24, t: 40, b: 44 }, hovermode: "x",
        bargap: 0, xaxis: { title: { text: "households ranked by saving (1 = largest)" } },
        yaxis: { title: { text: "saving vs grid-only bill over the run (NRG)" }, zeroline: true } });
    return P.draw(el, traces, chartLayout).then(function () {
      el.on("plotly_click", function (event) {
        var point = event.points[0];
        selectHousehold(few ? point.y : point.customdata, true);
      });
    });
  }

  // The bill in parts, each the mean over the households of a type (NRG); above 0 what they pay, below what they get.
  var BILL_PARTS = [
    ["grid_import_cost", "grid import (grid tariff)", 1, "#c62828"],
    ["local_paid", "local energy bought", 1, "#08519c"],
    ["grid_fees", "grid fee on local energy", 1, "#9ecae1"],
    ["grid_export_credit", "grid export (feed-in tariff)", -1, "#2e7d32"],
    ["local_received", "local energy sold", -1, "#e67e22"],
  ];

  function billPartsChart() {
    var B = D.bills;
    var el = document.getElementById("chart-bill-parts");
    if (!el) return null;
    if (!B || !B.type.length) return P.empty(el, "This report holds no bills.");
    var types = B.type.filter(function (t, i) { return B.type.indexOf(t) === i; });
    var members = types.map(function (t) { return B.type.map(function (u, i) { return u === t ? i : -1; }).filter(function (i) { return i >= 0; }); });
    var mean = function (key, rows) { return rows.reduce(function (a, i) { return a + B[key][i]; }, 0) / rows.length / 1e8; };
    var labels = types.map(function (t, k) { return t + " (" + members[k].length + ")"; });
    var traces = BILL_PARTS.map(function (part) {
      return { x: labels, y: members.map(function (rows) { return part[2] * mean(part[0], rows); }), type: "bar",
        name: part[1], meta: part[0], marker: { color: part[3] },
        hovertemplate: "%{x}: " + part[1] + " %{y:.4f} NRG per household<extra></extra>" };
    });
    traces.push({ x: labels, y: members.map(function (rows) { return mean("bill_with_market", rows); }), type: "scatter",
      mode: "markers", name: "bill with the market", meta: "bill_with_market",
      marker: { symbol: "diamond", size: 11, color: "#222" },
      hovertemplate: "%{x}: bill %{y:.4f} NRG per household<extra></extra>" });
    return P.draw(el, traces, P.layout({ barmode: "relative", hovermode: "closest", height: 380,
      xaxis: { type: "category" }, yaxis: { title: { text: "NRG per household over the run" }, zeroline: true },
      margin: { l: 64, r: 24, t: 56, b: 60 } }));
  }

  function gasCharts() {
    var G = D.gas;
    var perTrade = document.getElementById("chart-gas-trade");
    var byOp = document.getElementById("chart-gas-ops");
    if (!G.op.length) {
      P.empty(perTrade, "No gas was recorded in this run.");
      return P.empty(byOp, "No gas was recorded in this run.");
    }
    if (!G.settled) {
      P.empty(perTrade, "No trade was settled: there is no gas per settled trade.");
    } else {
      var settlement = G.per_settled.length - 2;  // the last two rows: trading, every transaction
      var rows = G.per_settled.map(function (r, i) { return r.concat([i < settlement]); })
        .filter(function (r) { return r[1] !== null; });
      var labels = rows.map(function (r) { return r[0]; });
      var values = rows.map(function (r) { return r[1]; });
      // The figures stand in a column right of the plot, clear of the bars and of the target mark,
      // which spans the settleLots bar only: the target is for that figure alone.
      var figures = values.map(function (v, i) {
        return { xref: "paper", x: 1.02, xanchor: "left", yref: "y", y: labels[i], showarrow: false,
          text: "<b>" + P.number(v) + "</b>" };
      });
      P.draw(perTrade, [{ x: values, y: labels, type: "bar", orientation: "h",
        marker: { color: rows.map(function (r) { return r[2] ? C.delivered : C.traded; }) },
        hovertemplate: "%{y}: %{x:,} gas per settled trade<extra></extra>" }],
      P.layout({ showlegend: false, margin: { l: 200, r: 70, t: 40, b: 44 }, height: 300,
        xaxis: { title: { text: "gas per settled trade (" + P.number(G.settled) + " settled)" },
          range: [0, Math.max(Math.max.apply(null, values), G.target) * 1.08], tickformat: "," },
        yaxis: { autorange: "reversed", type: "category" },
        shapes: [{ type: "line", xref: "x", yref: "y", x0: G.target, x1: G.target, y0: -0.45, y1: 0.45,
          line: { color: C.loss, width: 2.5, dash: "dash" } }],
        annotations: figures.concat([{ x: G.target, y: -0.45, xref: "x", yref: "y", yanchor: "bottom",
          showarrow: false, text: "target for settleLots: " + P.number(G.target), font: { color: C.loss, size: 11 } }]) }));
    }
    var total = G.gas.reduce(function (a, b) { return a + b; }, 0);
    var kinds = [["set-up", "#bdbdbd"], ["trading", C.traded], ["settlement", C.delivered]];
    var traces = kinds.map(function (kind) {
      var idx = G.op.map(function (_, i) { return i; }).filter(function (i) { return G.kind[i] === kind[0]; });
      return { x: idx.map(function (i) { return G.gas[i]; }), y: idx.map(function (i) { return G.op[i]; }),
        type: "bar", orientation: "h", name: kind[0], marker: { color: kind[1] },
        text: idx.map(function (i) { return P.number(100 * G.gas[i] / total, 1) + "% · " + P.number(G.tx[i]) + " tx"; }),
        textposition: "outside", cliponaxis: false,
        customdata: idx.map(function (i) { return [G.tx[i], Math.floor(G.gas[i] / Math.max(1, G.tx[i]))]; }),
        hovertemplate: "%{y}: %{x:,} gas in %{customdata[0]:,} transactions (%{customdata[1]:,} per tx)<extra></extra>" };
    });
    return P.draw(byOp, traces, P.layout({ margin: { l: 110, r: 40, t: 40, b: 44 },
      legend: { orientation: "h", x: 1, xanchor: "right", y: 0, yanchor: "bottom", bgcolor: "rgba(255,255,255,0.8)" },
      height: Math.max(300, 90 + 26 * G.op.length),
      xaxis: { title: { text: "gas in the run" }, range: [0, Math.max.apply(null, G.gas) * 1.45], tickformat: "~s" },
      yaxis: { type: "category", categoryorder: "array", categoryarray: G.op } }));
  }

  // -- one household's day ------------------------------------------------------------------------

  var current = null;

  function householdIndex(name) { return H.name.indexOf(name); }

  function householdChart(h) {
    var el = document.getElementById("chart-household");
    var sold = new Array(axis.n).fill(0);
    var bought = new Array(axis.n).fill(0);
    for (var k = 0; k < H.sold_by_slot[h].length; k += 2) sold[H.sold_by_slot[h][k]] = H.sold_by_slot[h][k + 1];
    for (k = 0; k < H.bought_by_slot[h].length; k += 2) bought[H.bought_by_slot[h][k]] = -H.bought_by_slot[h][k + 1];
    var faults = faultShapes(H.name[h]);
    var traces = [];
    if (H.generated_series) {
      var load = P.steps(axis, kwhs(H.load_series[h]));
      traces.push(pvBars(H.generated_series[h]));
      traces.push({ x: load.x, y: load.y, type: "scatter", mode: "lines", name: "load", hoverinfo: "skip",
        line: { shape: "hv", dash: "dash", color: C.load } });
    }
    traces.push({ x: axis.centres, y: kwhs(sold), type: "bar", width: axis.minutes * 0.7, name: "sold",
      marker: { color: C.gain }, hoverinfo: "skip" });
    traces.push({ x: axis.centres, y: kwhs(bought), type: "bar", width: axis.minutes * 0.7, name: "bought (below 0)",
      marker: { color: C.loss }, hoverinfo: "skip" });
    var texts = S.label.map(function (_, i) {
      var t = "<b>" + axis.span(i) + "</b>";
      if (H.generated_series) {
        t += "<br>generated " + P.kwh(H.generated_series[h][i]) + " kWh<br>load " + P.kwh(H.load_series[h][i]) + " kWh";
      }
      return t + "<br>sold " + P.kwh(sold[i]) + " kWh<br>bought " + P.kwh(-bought[i]) + " kWh";
    });
    traces = traces.concat(faults.traces, [hoverTrace(texts, kwhs(sold))]);
    return P.draw(el, traces, P.layout({ barmode: "overlay", hovermode: "x", xaxis: axis.xaxis,
      yaxis: { title: { text: "kWh per slot" }, zeroline: true }, shapes: faults.shapes,
      annotations: faults.annotations, margin: { l: 64, r: 120, t: 56, b: 48 } }));
  }

  function householdFacts(h) {
    var list = document.getElementById("household-facts");
    var net = H.end[h] - H.start[h];
    var notes = [];
    if (F) {
      F.offline.forEach(function (o) {
        if (o[0] === H.name[h]) notes.push("meter offline " + P.hhmm(axis.starts[o[1]]) + "–" + P.hhmm(axis.ends[o[2]]));
      });
      F.under.forEach(function (u) {
        if (u[0] === H.name[h]) notes.push("exports at most " + P.number(u[1] * 100) + "% of its offer");
      });
    }
    var rows = [
      ["household", H.name[h]],
      ["meter", H.meter[h] === null ? "none (buys only)" : "#" + H.meter[h]],
      ["PV", P.number(H.pv[h], 1) + " kWp"],
      ["generated / load", P.kwh(H.generated_wh[h]) + " / " + P.kwh(H.load_wh[h]) + " kWh"],
      ["offered (on the forecast) / sold", P.kwh(H.offered_wh[h]) + " / " + P.kwh(H.sold_wh[h]) + " kWh"],
      ["delivered", P.kwh(H.delivered_wh[h]) + " kWh" +
        (H.sold_wh[h] ? " (" + P.number(100 * H.delivered_wh[h] / H.sold_wh[h], 1) + "% of sold)" : "")],
      ["bought", P.kwh(H.bought_wh[h]) + " kWh"],
      ["tokens", P.nrg(H.start[h], 2) + " → " + P.nrg(H.end[h], 2) + " NRG"],
      ["net", (net > 0 ? "+" : "") + P.nrg(net) + " NRG"],
    ];
    var B = D.bills;
    if (B) {
      rows.push(["bill grid-only / with market", P.nrg(B.bill_grid_only[h]) + " / " + P.nrg(B.bill_with_market[h]) + " NRG"]);
      rows.push(["bill in parts", BILL_PARTS.map(function (part) {
        return part[1].split(" (")[0] + " " + (part[2] < 0 ? "−" : "+") + P.nrg(B[part[0]][h]);
      }).join("; ") + " NRG"]);
      rows.push(["saving vs grid", (B.saving[h] > 0 ? "+" : "") + P.nrg(B.saving[h]) + " NRG"]);
      rows.push(["self-sufficiency / -consumption", share(B.self_sufficiency[h]) + " / " + share(B.self_consumption[h])]);
    }
    if (notes.length) rows.push(["faults", notes.join("; ")]);
    list.textContent = "";
    rows.forEach(function (row) {
      var dt = document.createElement("dt");
      var dd = document.createElement("dd");
      dt.textContent = row[0];
      dd.textContent = row[1];
      if (row[0] === "net") dd.className = net > 0 ? "good" : net < 0 ? "bad" : "";
      list.appendChild(dt);
      list.appendChild(dd);
    });
  }

  function selectHousehold(name, scroll) {
    var h = householdIndex(name);
    if (h < 0) return null;
    current = name;
    document.getElementById("household-select").value = name;
    householdFacts(h);
    householdSpecCharts(h);
    var drawn = householdChart(h);
    if (scroll) document.getElementById("household").scrollIntoView({ behavior: "smooth" });
    return drawn;
  }

  // -- the trades table ---------------------------------------------------------------------------

  var sortKey = "id";
  var sortDown = false;

  function tradeId(k) {
    if (!T.id_by_layout) return T.id[k];
    var meter = BigInt(H.meter[T.seller[k]]);
    var slot = BigInt(S.chain_slot[T.slot[k]]);
    return ((meter << 96n) | (slot << 32n) | BigInt(T.id[k])).toString();
  }

  // The id as the table shows it: the seller's meter, the chain slot and the index in the lot (the
  // 30-digit id they make is in the cell's tooltip); an id not in that layout is shown whole.
  function shortId(k) {
    if (!T.id_by_layout) return T.id[k];
    return "m" + H.meter[T.seller[k]] + " · s" + S.chain_slot[T.slot[k]] + " · #" + T.id[k];
  }

  function outcomeOf(k) {
    if (!T.settled[k]) return "refunded";
    return T.refunded[k] ? "partial" : "settled";
  }

  var outcomeText = { settled: "settled", partial: "settled, part refunded", refunded: "refunded in full" };

  var sortValue = {
    id: function (k) { return k; },
    slot: function (k) { return T.slot[k]; },
    seller: function (k) { return H.name[T.seller[k]]; },
    buyer: function (k) { return H.name[T.buyer[k]]; },
    wh: function (k) { return T.wh[k]; },
    price: function (k) { return T.price[k]; },
    cost: function (k) { return T.paid[k] + T.refunded[k]; },
    paid: function (k) { return T.paid[k]; },
    refunded: function (k) { return T.refunded[k]; },
    outcome: function (k) { return outcomeOf(k); },
  };

  function matchingTrades() {
    var text = document.getElementById("trade-filter").value.trim().toLowerCase();
    var outcome = document.getElementById("trade-outcome").value;
    var slotValue = document.getElementById("trade-slot").value;
    var slot = slotValue === "" ? -1 : Number(slotValue);
    var names = H.name.map(function (n) { return n.toLowerCase(); });
    var found = [];
    for (var k = 0; k < T.slot.length; k++) {
      if (slot >= 0 && T.slot[k] !== slot) continue;
      if (outcome && outcomeOf(k) !== outcome) continue;
      if (text && names[T.seller[k]].indexOf(text) < 0 && names[T.buyer[k]].indexOf(text) < 0 &&
          String(T.id_by_layout ? tradeId(k) : T.id[k]).indexOf(text) < 0) continue;
      found.push(k);
    }
    var key = sortValue[sortKey];
    found.sort(function (a, b) {
      var x = key(a), y = key(b);
      var order = x < y ? -1 : x > y ? 1 : a - b;
      return sortDown ? -order : order;
    });
    return found;
  }

  function renderTrades() {
    var found = matchingTrades();
    var body = document.querySelector("#trade-table tbody");
    var rows = document.createDocumentFragment();
    found.slice(0, ROWS).forEach(function (k) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-trade", String(k));
      var outcome = outcomeOf(k);
      [shortId(k), axis.span(T.slot[k]), H.name[T.seller[k]], H.name[T.buyer[k]], P.kwh(T.wh[k]), P.nrg(T.price[k]),
        P.nrg(T.paid[k] + T.refunded[k], 6), P.nrg(T.paid[k], 6), P.nrg(T.refunded[k], 6), outcomeText[outcome]]
        .forEach(function (value, column) {
          var td = document.createElement("td");
          td.textContent = value;
          if (column === 0) {
            td.className = "id";
            td.title = "trade id " + tradeId(k);
          }
          if (column === 9) td.className = outcome;
          tr.appendChild(td);
        });
      rows.appendChild(tr);
    });
    body.textContent = "";
    body.appendChild(rows);
    var total = T.slot.length;
    var line = P.number(found.length) + " of " + P.number(total) + " trades match";
    if (found.length > ROWS) line += "; the first " + P.number(ROWS) + " are shown (narrow the filter to see others)";
    var counter = document.getElementById("trade-count");
    counter.textContent = line + ".";
    counter.setAttribute("data-matching", String(found.length));
    document.querySelectorAll("#trade-table th").forEach(function (th) {
      var key = th.getAttribute("data-key");
      th.setAttribute("aria-sort", key === sortKey ? (sortDown ? "descending" : "ascending") : "none");
    });
  }

  function setUpTrades() {
    ["trade-filter", "trade-outcome", "trade-slot"].forEach(function (id) {
      var el = document.getElementById(id);
      el.addEventListener(el.tagName === "INPUT" ? "input" : "change", renderTrades);
    });
    document.querySelectorAll("#trade-table th").forEach(function (th) {
      th.tabIndex = 0;
      var sort = function () {
        var key = th.getAttribute("data-key");
        sortDown = key === sortKey ? !sortDown : false;
        sortKey = key;
        renderTrades();
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
    document.getElementById("household-select").addEventListener("change", function (e) {
      selectHousehold(e.target.value, false);
    });
    document.getElementById("household-trades").addEventListener("click", function () {
      var filter = document.getElementById("trade-filter");
      filter.value = current || "";
      renderTrades();
      document.getElementById("trades").scrollIntoView({ behavior: "smooth" });
    });
    renderTrades();
  }

  function firstHousehold() {
    var fromHash = decodeURIComponent((location.hash.match(/^#household=(.+)$/) || [])[1] || "");
    if (householdIndex(fromHash) >= 0) return fromHash;
    var ranked = rankedHouseholds();
    return ranked.order.length ? H.name[ranked.order[0]] : null;
  }

  energyChart();
  specCharts();
  priceChart();
  balanceChart();
  billsChart();
  billPartsChart();
  gasCharts();
  setUpTrades();
  var first = firstHousehold();
  if (first === null) P.empty(document.getElementById("chart-household"), "No households in this run.");
  else selectHousehold(first, false);
  P.ready();
  window.P2P.report = { selectHousehold: selectHousehold, renderTrades: renderTrades };
})();
