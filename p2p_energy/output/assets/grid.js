// report.html's network charts (section "The network"): the bus voltage band and the worst loading per slot,
// with and without the market, and the feeder drawn with each line coloured by its highest loading.
(function () {
  "use strict";
  var P = window.P2P;
  var D = P.data();
  var G = D.grid;
  if (!G) return;
  var axis = P.slotAxis(D.slots);
  var S = G.slots;
  var WITH = "#1f77b4";
  var WITHOUT = "#999999";
  var LIMIT = "#cb181d";

  function step(values) { var s = P.steps(axis, values); return s; }

  function line(values, name, color, dash, fill) {
    var s = step(values);
    return { x: s.x, y: s.y, type: "scatter", mode: "lines", name: name, fill: fill || "none",
      fillcolor: "rgba(31,119,180,0.15)", line: { shape: "hv", color: color, width: dash ? 1.5 : 2, dash: dash || "solid" } };
  }

  function limitLine(y, text) {
    return {
      shape: { type: "line", xref: "paper", x0: 0, x1: 1, y0: y, y1: y, line: { color: LIMIT, width: 1.5, dash: "dot" } },
      note: { xref: "paper", x: 1, y: y, xanchor: "right", yanchor: "bottom", showarrow: false, text: text, font: { color: LIMIT } },
    };
  }

  // Red strips under the slots in which the market caused a violation, or in which the limits refused trades.
  function slotMarks() {
    var shapes = [];
    S.caused.forEach(function (element, i) {
      if (element) shapes.push({ type: "rect", xref: "x", yref: "paper", x0: axis.starts[i], x1: axis.ends[i], y0: 0, y1: 0.03,
        fillcolor: LIMIT, line: { width: 0 } });
    });
    G.stopped.forEach(function (i) {
      shapes.push({ type: "rect", xref: "x", yref: "paper", x0: axis.starts[i], x1: axis.ends[i], y0: 0.97, y1: 1,
        fillcolor: "#ff7f0e", line: { width: 0 } });
    });
    return shapes;
  }

  function texts() {
    return S.vm_min_pu.map(function (_, i) {
      return "<b>" + axis.span(i) + "</b><br>voltage " + P.number(S.vm_min_pu[i], 3) + "–" + P.number(S.vm_max_pu[i], 3) +
        " p.u. (without the market " + P.number(S.base_vm_min_pu[i], 3) + "–" + P.number(S.base_vm_max_pu[i], 3) +
        ")<br>worst line " + P.number(S.line_loading_pct[i], 1) + " % (" + S.worst_line[i] + "), transformer " +
        P.number(S.trafo_loading_pct[i], 1) + " %<br>losses " + P.number(S.losses_wh[i], 0) + " Wh" +
        (S.caused[i] ? "<br><b>the market put " + S.caused[i] + " beyond its limit</b>" : "") +
        (G.stopped.indexOf(i) >= 0 ? "<br>network limits refused storage trades" : "");
    });
  }

  function hover(y) {
    return { x: axis.centres, y: y, type: "scatter", mode: "markers", marker: { opacity: 0, size: 1 }, text: texts(),
      hovertemplate: "%{text}<extra></extra>", showlegend: false };
  }

  function voltageChart() {
    var el = document.getElementById("chart-grid-voltage");
    if (!axis.n) return P.empty(el, "No slots in this run.");
    var high = limitLine(1 + G.band, "1 + " + G.band + " p.u.");
    var low = limitLine(1 - G.band, "1 − " + G.band + " p.u.");
    var traces = [
      line(S.vm_min_pu, "lowest bus voltage", WITH),
      line(S.vm_max_pu, "highest bus voltage (band with the market)", WITH, null, "tonexty"),
      line(S.base_vm_min_pu, "without the market", WITHOUT, "dash"),
      line(S.base_vm_max_pu, "", WITHOUT, "dash"),
      hover(S.vm_max_pu),
    ];
    traces[3].showlegend = false;
    var values = S.vm_min_pu.concat(S.vm_max_pu, S.base_vm_min_pu, S.base_vm_max_pu, [1 - G.band, 1 + G.band]);
    var lo = Math.min.apply(null, values);
    var hi = Math.max.apply(null, values);
    var pad = (hi - lo) * 0.08 + 0.002;
    return P.draw(el, traces, P.layout({
      hovermode: "x", xaxis: axis.xaxis, shapes: [high.shape, low.shape].concat(slotMarks()), annotations: [high.note, low.note],
      yaxis: { title: { text: "bus voltage (p.u.)" }, range: [lo - pad, hi + pad], tickformat: ".3f" },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", traceorder: "normal" },
    }));
  }

  function loadingChart() {
    var el = document.getElementById("chart-grid-loading");
    if (!axis.n) return P.empty(el, "No slots in this run.");
    var limit = limitLine(100, "100 % (rating)");
    var traces = [
      line(S.line_loading_pct, "worst line", WITH),
      line(S.trafo_loading_pct, "transformer", "#2ca02c"),
      line(S.base_line_loading_pct, "worst line without the market", WITHOUT, "dash"),
      line(S.base_trafo_loading_pct, "transformer without the market", "#98df8a", "dash"),
      hover(S.line_loading_pct),
    ];
    var top = Math.max.apply(null, S.line_loading_pct.concat(S.trafo_loading_pct, S.base_line_loading_pct,
      S.base_trafo_loading_pct, [100]));
    return P.draw(el, traces, P.layout({
      hovermode: "x", xaxis: axis.xaxis, shapes: [limit.shape].concat(slotMarks()), annotations: [limit.note],
      yaxis: { title: { text: "loading (% of rating)" }, range: [0, top * 1.08], rangemode: "tozero" },
    }));
  }

  // Lines in six bands of loading, each band one trace of segments (null between them): a network of
  // thousands of lines stays a handful of traces.
  var BANDS = [[0, 25, "#2c7bb6"], [25, 50, "#abd9e9"], [50, 75, "#fdae61"], [75, 100, "#f46d43"], [100, 125, "#d73027"],
    [125, Infinity, "#67001f"]];

  function networkChart() {
    var el = document.getElementById("chart-grid-network");
    var E = G.elements;
    if (!E.name.length) return P.empty(el, "The network has no lines.");
    var traces = BANDS.map(function (band) {
      var x = [];
      var y = [];
      var text = [];
      E.name.forEach(function (name, i) {
        var w = E.worst[i];
        if (w < band[0] || w >= band[1]) return;
        var tip = (E.kind[i] === "trafo" ? "transformer " : "") + name + ": up to " + P.number(w, 1) + " % (without the market " +
          P.number(E.base[i], 1) + " %)";
        x.push(E.x[i][0], E.x[i][1], null);
        y.push(E.y[i][0], E.y[i][1], null);
        text.push(tip, tip, null);
      });
      var label = band[1] === Infinity ? "≥ " + band[0] + " %" : band[0] + "–" + band[1] + " %";
      return { x: x, y: y, text: text, type: "scatter", mode: "lines", name: label, hoverinfo: "text",
        line: { color: band[2], width: band[0] >= 100 ? 4 : 2.5 } };
    }).filter(function (t) { return t.x.length; });
    var B = G.buses;
    traces.push({ x: B.x, y: B.y, type: "scatter", mode: "markers", name: "households",
      marker: { color: "#222", size: B.households.map(function (n) { return 5 + 3 * Math.sqrt(n); }) },
      text: B.name.map(function (name, i) {
        return name + ": " + B.households[i] + " households<br>voltage " + P.number(B.min_voltage_pu[i], 3) + "–" +
          P.number(B.max_voltage_pu[i], 3) + " p.u.";
      }), hoverinfo: "text" });
    var spread = Math.max.apply(null, B.y.concat([0])) - Math.min.apply(null, B.y.concat([0]));
    var height = G.geodata ? 560 : Math.min(640, Math.max(260, 160 + 14 * spread));
    return P.draw(el, traces, P.layout({
      height: height, hovermode: "closest", showlegend: true,
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", title: { text: "highest loading with the market: " } },
      xaxis: { visible: false, scaleanchor: G.geodata ? "y" : undefined },
      yaxis: { visible: false, autorange: G.geodata ? true : "reversed" },
    }));
  }

  voltageChart();
  loadingChart();
  networkChart();
})();
