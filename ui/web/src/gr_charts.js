// gridrun web app, part 2 of 4: charts. Learning curves are uPlot charts
// (the pinned npm package, embedded in the binary); the heat map is a table
// of coloured cells; parallel coordinates are SVG built with GR.svg. Every
// label is text, never markup.
'use strict';
(function () {
  const GR = window.GR;

  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
                   '#7f7f7f', '#bcbd22', '#17becf'];
  GR.color = (i) => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];

  // Exponential moving average like TensorBoard's smoothing (0: none),
  // debiased so the first points are not pulled towards 0; nulls stay gaps.
  GR.smooth = function (values, weight) {
    if (!weight) return values;
    let last = 0, count = 0;
    return values.map((v) => {
      if (v === null || !isFinite(v)) return v;
      last = last * weight + (1 - weight) * v;
      count++;
      return last / (1 - Math.pow(weight, count));
    });
  };

  // Live uPlot instances, for tests and for resizing: GR.charts.curves is
  // the experiment page's curve chart.
  GR.charts = {};

  // series: [{label, color, x: [], y: []}], each ascending in x.
  // options: {title, xLabel, log, smoothing, width, height}.
  GR.curveChart = function (container, series, options) {
    const tables = series.map((s) => {
      let y = GR.smooth(s.y.map((v) => (v === null ? null : v)), options.smoothing || 0);
      if (options.log) y = y.map((v) => (v !== null && v > 0 ? v : null));
      // uPlot needs strictly ascending x: keep the last y of a repeated x.
      const xs = [], ys = [];
      s.x.forEach((x, i) => {
        if (xs.length && xs[xs.length - 1] === x) ys[ys.length - 1] = y[i];
        else { xs.push(x); ys.push(y[i]); }
      });
      return [xs, ys];
    });
    const data = tables.length ? uPlot.join(tables) : [[]];
    const chart = new uPlot({
      title: options.title,
      width: options.width || 560,
      height: options.height || 300,
      scales: {x: {time: false}, y: options.log ? {distr: 3} : {}},
      axes: [{label: options.xLabel || 'step'}, {}],
      series: [{label: options.xLabel || 'step'}].concat(series.map((s) => ({
        label: s.label, stroke: s.color, width: 1.5, spanGaps: true,
        points: {show: false},
      }))),
      legend: {live: true},
    }, data, container);
    return chart;
  };

  // A colour from light yellow (t=0) to dark blue (t=1).
  function ramp(t) {
    const stops = [[255, 255, 204], [161, 218, 180], [65, 182, 196], [44, 127, 184], [37, 52, 148]];
    const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
    const i = Math.min(Math.floor(x), stops.length - 2), f = x - i;
    const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  // Blue (t=0, smallest) to red (t=1): lines stay visible on white.
  const lineColor = (t) => `hsl(${Math.round(240 * (1 - Math.max(0, Math.min(1, t))))},70%,45%)`;

  // map: the API's heat map ({x_values, y_values, cells}); one <td class=cell>
  // per (x, y) pair that has trials.
  GR.heatMapTable = function (map) {
    const byKey = new Map(map.cells.map((c) => [c.x + '\u0000' + c.y, c]));
    const means = map.cells.filter((c) => c.mean !== null).map((c) => c.mean);
    const lo = Math.min(...means), hi = Math.max(...means);
    const head = GR.el('tr', null, GR.el('th', null, `${map.y_axis} \\ ${map.x_axis}`),
                       map.x_values.map((x) => GR.el('th', null, x)));
    const rows = map.y_values.map((y) => GR.el('tr', null, GR.el('th', null, y),
      map.x_values.map((x) => {
        const cell = byKey.get(x + '\u0000' + y);
        if (!cell) return GR.el('td', {class: 'empty'});
        const t = hi > lo && cell.mean !== null ? (cell.mean - lo) / (hi - lo) : 0.5;
        const title = `${map.x_axis}=${x}, ${map.y_axis}=${y}: ` +
          (cell.mean === null ? 'n/a' : GR.formatNumber(cell.mean)) +
          ` (${cell.values} of ${cell.trials} trials; min ${GR.formatNumber(cell.min)}, ` +
          `max ${GR.formatNumber(cell.max)})`;
        return GR.el('td', {
          class: 'cell', title,
          style: cell.mean === null ? 'background:#eee' :
            `background:${ramp(t)};color:${t > 0.6 ? '#fff' : '#000'}`,
        }, cell.mean === null ? 'n/a' : GR.formatNumber(cell.mean));
      })));
    return GR.el('table', {class: 'heatmap'}, head, rows);
  };

  // Parallel coordinates: one vertical axis per param (categorical, values
  // in the outline's order) and a last axis for the metric; one polyline per
  // trial coloured by its metric value.
  GR.parallelCoordinates = function (outline, rows, metric) {
    const axes = outline.axes.filter((a) => (outline.axis_values[a] || []).length > 1);
    const width = Math.max(400, 140 * (axes.length + 1)), height = 320, top = 30, bottom = 290;
    const xOf = (i) => 60 + i * (width - 120) / Math.max(1, axes.length);
    const values = rows.map((r) => r.metrics[metric]).filter((v) => v !== null && v !== undefined);
    const lo = Math.min(...values), hi = Math.max(...values);
    const yOfParam = (axis, value) => {
      const list = outline.axis_values[axis];
      const i = list.indexOf(value);
      return list.length < 2 ? (top + bottom) / 2 : top + (bottom - top) * (i < 0 ? 0 : i) / (list.length - 1);
    };
    const yOfMetric = (v) => (hi > lo ? bottom - (bottom - top) * (v - lo) / (hi - lo) : (top + bottom) / 2);
    const children = [];
    for (const row of rows) {
      const v = row.metrics[metric];
      if (v === null || v === undefined) continue;
      const points = axes.map((a, i) => `${xOf(i)},${yOfParam(a, row.params[a])}`);
      points.push(`${xOf(axes.length)},${yOfMetric(v)}`);
      children.push(GR.svg('polyline', {
        points: points.join(' '), fill: 'none', 'stroke-width': 1.2, 'stroke-opacity': 0.7,
        stroke: lineColor(hi > lo ? (v - lo) / (hi - lo) : 0.5),
      }, GR.svg('title', null, `trial ${row.number}: ${metric}=${GR.formatNumber(v)}`)));
    }
    axes.forEach((a, i) => {
      children.push(GR.svg('line', {x1: xOf(i), x2: xOf(i), y1: top, y2: bottom, stroke: '#333'}));
      children.push(GR.svg('text', {x: xOf(i), y: 16, 'text-anchor': 'middle'}, a));
      for (const value of outline.axis_values[a]) {
        children.push(GR.svg('text', {x: xOf(i) + 4, y: yOfParam(a, value) + 4}, value));
      }
    });
    const last = axes.length;
    children.push(GR.svg('line', {x1: xOf(last), x2: xOf(last), y1: top, y2: bottom, stroke: '#333'}));
    children.push(GR.svg('text', {x: xOf(last), y: 16, 'text-anchor': 'middle'}, metric));
    if (values.length) {
      children.push(GR.svg('text', {x: xOf(last) + 4, y: top + 4}, GR.formatNumber(hi)));
      children.push(GR.svg('text', {x: xOf(last) + 4, y: bottom + 4}, GR.formatNumber(lo)));
    }
    return GR.svg('svg', {class: 'parallel', width, height, viewBox: `0 0 ${width} ${height}`},
                  children);
  };
})();
