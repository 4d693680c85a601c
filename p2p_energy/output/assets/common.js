// Helpers shared by the report and the comparison page: number formats, the slot axis, drawing.
(function () {
  "use strict";
  var pending = [];
  var formats = {};

  function number(value, places) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    var key = String(places || 0);
    if (!formats[key]) {
      formats[key] = new Intl.NumberFormat("en-US", {
        minimumFractionDigits: places || 0,
        maximumFractionDigits: places || 0,
      });
    }
    return formats[key].format(value);
  }

  function hhmm(minute) {
    var m = ((Math.round(minute) % 1440) + 1440) % 1440;
    var h = Math.floor(m / 60);
    return (h < 10 ? "0" : "") + h + ":" + (m % 60 < 10 ? "0" : "") + (m % 60);
  }

  // x is minutes from midnight of the run's first day; slot i spans [start[i], start[i] + minutes).
  function slotAxis(slots) {
    var n = slots.start.length;
    var ends = slots.start.map(function (s) { return s + slots.minutes; });
    var centres = slots.start.map(function (s) { return s + slots.minutes / 2; });
    var step = Math.max(1, Math.ceil(n / tickCount()));
    var tickvals = [];
    for (var i = 0; i < n; i += step) tickvals.push(slots.start[i]);
    if (n) tickvals.push(ends[n - 1]);
    return {
      n: n,
      starts: slots.start,
      ends: ends,
      centres: centres,
      minutes: slots.minutes,
      span: function (i) { return hhmm(slots.start[i]) + "–" + hhmm(ends[i]); },
      xaxis: {
        tickvals: tickvals,
        ticktext: tickvals.map(hhmm),
        range: n ? [slots.start[0], ends[n - 1]] : [0, 1],
        title: { text: "delivery slot" },
        showgrid: false,
        zeroline: false,
      },
    };
  }

  // A step line over whole slots: one point at each slot's start and one at the last slot's end.
  function steps(axis, values) {
    if (!axis.n) return { x: [], y: [] };
    return { x: axis.starts.concat([axis.ends[axis.n - 1]]), y: values.concat([values[values.length - 1]]) };
  }

  // y limits that fit the prices (not from 0); the grid tariff is drawn only where the prices keep about
  // half the height, else it is named at the top as out of range.
  function priceRange(prices, tariff) {
    var low = Math.min.apply(null, prices);
    var high = Math.max.apply(null, prices);
    var pad = Math.max((high - low) * 0.15, high * 0.03, 1e-8);
    if (tariff !== null && tariff - high <= high - low + 2 * pad) {
      return { range: [Math.min(low, tariff) - pad, Math.max(high, tariff) + pad], tariffFits: true };
    }
    return { range: [low - pad, high + pad], tariffFits: false };
  }

  // A chart defined once in Python (p2p_energy/output/chart_specs.py): its series, levels and marked slots,
  // drawn over the slot axis from `columns` (Wh per slot: the neighbourhood's, or one household's).
  function slotChart(element, spec, axis, columns, forHousehold) {
    var traces = spec.series.map(function (s) {
      var y = columns[s.column].map(function (wh) { return (s.below ? -wh : wh) / 1000; });
      if (s.kind === "line") {
        var line = steps(axis, y);
        return { x: line.x, y: line.y, type: "scatter", mode: "lines", name: s.name, meta: s.column,
          line: { shape: "hv", width: 2, color: s.color }, hoverinfo: "skip" };
      }
      return { x: axis.centres, y: y, type: "bar", width: axis.minutes * 0.8, name: s.name, meta: s.column,
        marker: { color: s.color }, hoverinfo: "skip" };
    });
    var levels = spec.levels.filter(function (l) { return !(forHousehold && l.neighbourhood_only); });
    var shapes = levels.map(function (l) {
      return { type: "line", xref: "paper", x0: 0, x1: 1, y0: l.kwh, y1: l.kwh, line: { color: l.color, width: 2, dash: "dash" } };
    });
    var notes = levels.map(function (l) {
      return { xref: "paper", x: 0, xanchor: "left", y: l.kwh, yanchor: "bottom", showarrow: false, text: l.label,
        font: { color: l.color, size: 11 }, bgcolor: "rgba(255,255,255,0.8)" };
    });
    if (!forHousehold && spec.marked.length) {
      var top = levels.length ? levels[0].kwh : 0;
      traces.push({ x: spec.marked.map(function (i) { return axis.centres[i]; }), y: spec.marked.map(function () { return top; }),
        type: "scatter", mode: "markers", name: spec.marked_label, meta: "marked", hoverinfo: "skip",
        marker: { symbol: "diamond", size: 9, color: levels.length ? levels[0].color : "#e67e22" } });
    }
    var texts = axis.starts.map(function (_, i) {
      return "<b>" + axis.span(i) + "</b>" + spec.series.map(function (s) {
        return "<br>" + s.name.split(" (")[0].split(",")[0] + " " + number(columns[s.column][i] / 1000, 2) + " kWh";
      }).join("");
    });
    traces.push({ x: axis.centres, y: axis.centres.map(function () { return 0; }), type: "scatter", mode: "markers",
      marker: { opacity: 0, size: 1 }, text: texts, hovertemplate: "%{text}<extra></extra>", showlegend: false });
    return draw(element, traces, layout({ barmode: "relative", hovermode: "x", xaxis: axis.xaxis,
      yaxis: { title: { text: spec.y_title }, zeroline: true, zerolinecolor: "#888" }, shapes: shapes,
      annotations: notes, height: 380, margin: { l: 64, r: 24, t: forHousehold ? 80 : 56, b: 48 },
      title: forHousehold ? { text: spec.title, x: 0.01, xanchor: "left", y: 0.98, font: { size: 13 } } : undefined }));
  }

  // A phone's width: charts get fewer ticks, narrower margins and their legend below the plot.
  function narrow() { return window.innerWidth < 700; }

  // How many ticks a time axis gets: about one per 60 px of a phone, else 12.
  function tickCount() { return narrow() ? 5 : 12; }

  function layout(extra) {
    var base = {
      font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#222" },
      autosize: true,
      height: 420,
      margin: { l: 64, r: 24, t: 36, b: 48 },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
      hoverlabel: { align: "left" },
    };
    var chart = Object.assign(base, extra || {});
    return narrow() ? fitNarrow(chart) : chart;
  }

  // On a phone the plot gets the width: margins only as wide as the labels need (automargin widens them),
  // labels at the right end of the x axis turn inwards, the legend goes below the plot, x ticks are fewer.
  function fitNarrow(chart) {
    var m = chart.margin;
    var outside = (chart.annotations || []).some(function (a) { return a.xref === "paper" && a.x > 1; });
    chart.font = Object.assign({}, chart.font, { size: 11 });
    chart.margin = { l: Math.min(m.l, 48), r: outside ? Math.min(m.r, 60) : chart.yaxis2 ? 44 : 10, t: Math.min(m.t, 28), b: m.b };
    chart.yaxis = Object.assign({ automargin: true }, chart.yaxis);
    chart.xaxis = Object.assign(chart.xaxis && chart.xaxis.tickvals ? {} : { nticks: 5 }, { automargin: true }, chart.xaxis);
    chart.annotations = (chart.annotations || []).map(function (a) {
      return a.xref === "x" && a.xanchor === "left" ? Object.assign({}, a, { xanchor: "right" }) : a;
    });
    if (chart.xaxis.title && chart.xaxis.title.text) {
      chart.xaxis.title = Object.assign({}, chart.xaxis.title, { text: breakLine(chart.xaxis.title.text, 44) });
    }
    if (chart.showlegend !== false) {
      var legend = { orientation: "h", x: 0, xanchor: "left", y: -0.22, yanchor: "top" };
      if (chart.legend.title) legend.title = Object.assign({}, chart.legend.title, { side: "top" });
      chart.legend = Object.assign({}, chart.legend, legend);
      chart.height = Math.max(chart.height, 460);
    }
    return chart;
  }

  // A line longer than `most` characters broken (<br>) at the space nearest its middle.
  function breakLine(text, most) {
    if (text.length <= most || text.indexOf("<br>") >= 0) return text;
    var middle = text.length / 2, best = -1;
    for (var i = 0; i < text.length; i++) {
      if (text[i] === " " && (best < 0 || Math.abs(i - middle) < Math.abs(best - middle))) best = i;
    }
    return best < 0 ? text : text.slice(0, best) + "<br>" + text.slice(best + 1);
  }

  var config = {
    displaylogo: false,
    responsive: true,
    modeBarButtonsToRemove: ["lasso2d", "select2d"],
    toImageButtonOptions: { format: "png", scale: 2 },
  };

  function empty(element, message) {
    element.classList.add("chart-empty");
    element.textContent = message;
  }

  function draw(element, traces, chartLayout) {
    element.classList.remove("chart-empty");
    var done = Plotly.react(element, traces, chartLayout, config);
    pending.push(done);
    return done;
  }

  // Once every chart has been drawn: a marker on <html> that tests (and people) can read.
  function ready(extra) {
    Promise.all(pending)
      .then(function () {
        var root = document.documentElement;
        root.setAttribute("data-charts", String(document.querySelectorAll(".chart.js-plotly-plot").length));
        root.setAttribute("data-ready-ms", String(Math.round(performance.now())));
        if (extra) extra();
        root.setAttribute("data-ready", "yes");
      })
      .catch(function (error) { window.keepPageError("drawing failed: " + (error && error.message ? error.message : error)); });
  }

  function data() {
    return JSON.parse(document.getElementById("report-data").textContent);
  }

  window.P2P = {
    number: number,
    kwh: function (wh) { return number(wh / 1000, 2); },
    nrg: function (base, places) { return base === null || base === undefined ? "–" : number(base / 1e8, places === undefined ? 4 : places); },
    hhmm: hhmm,
    narrow: narrow,
    tickCount: tickCount,
    slotAxis: slotAxis,
    priceRange: priceRange,
    steps: steps,
    slotChart: slotChart,
    layout: layout,
    empty: empty,
    draw: draw,
    ready: ready,
    data: data,
    colors: {
      pv: "#f2c94c", load: "#555555", offered: "#e67e22", traded: "#9ecae1", delivered: "#08519c",
      gain: "#2e7d32", loss: "#c62828", cloud: "rgba(127,140,141,0.22)", offline: "rgba(198,40,40,0.55)",
      runs: ["#08519c", "#e67e22", "#2e7d32", "#8e44ad", "#c62828", "#16a085", "#7f8c8d", "#d35400"],
    },
  };
})();
