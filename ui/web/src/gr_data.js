// gridrun web app, part 1 of 4: where the data comes from, and safe DOM
// building.
//
// Two data sources answer the same calls: HttpSource asks `gridrun ui`'s JSON
// API (ui/api_router.h); SnapshotSource answers from the data a report file
// carries inline (window.GRIDRUN_SNAPSHOT, ui/snapshot.h), emulating the
// API's sorting, filtering and paging of trials. Every view goes through
// GR.source, so the live page and the report are one app.
//
// Safety: GR.el() is the only way the app makes elements. Text is always
// added as text nodes (never innerHTML), attributes by setAttribute from a
// fixed set of names, so a name that holds markup stays text.
'use strict';
(function () {
  const GR = (window.GR = window.GR || {});

  const ALLOWED_ATTRIBUTES = new Set([
    'class', 'id', 'href', 'src', 'alt', 'title', 'type', 'value', 'colspan', 'rowspan',
    'min', 'max', 'step', 'placeholder', 'for', 'selected', 'checked', 'style', 'data-key',
    'width', 'height', 'viewBox', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'd', 'points', 'fill',
    'stroke', 'stroke-width', 'stroke-opacity', 'text-anchor', 'transform', 'role', 'disabled',
  ]);

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function build(svg, tag, attributes, children) {
    const node = svg ? document.createElementNS(SVG_NS, tag) : document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith('on') && typeof value === 'function') {
        node.addEventListener(name.slice(2), value);
      } else if (ALLOWED_ATTRIBUTES.has(name)) {
        if (name === 'href' && !/^(#|\/|data:image\/png)/.test(String(value))) continue;
        node.setAttribute(name, value === true ? '' : String(value));
      }
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  // GR.el('td', {class: 'num'}, 'text', childElement, ...): children that are
  // strings or numbers become text nodes; null/undefined are skipped;
  // on* attributes given functions become event listeners.
  GR.el = (tag, attributes, ...children) => build(false, tag, attributes, children);
  GR.svg = (tag, attributes, ...children) => build(true, tag, attributes, children);

  GR.formatNumber = function (value) {
    if (value === null || value === undefined) return '';
    if (typeof value !== 'number' || !isFinite(value)) return 'NaN';
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
    return String(Number(value.toPrecision(5)));
  };
  GR.formatTime = function (ms) {
    if (!ms) return '';
    const d = new Date(ms);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
           `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  };
  GR.formatDuration = function (ms) {
    if (!ms) return '0 s';
    const s = ms / 1000;
    if (s < 120) return `${s.toFixed(1)} s`;
    if (s < 7200) return `${(s / 60).toFixed(1)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  };

  // ---- the live source: the JSON API ----
  class HttpSource {
    constructor() { this.live = true; }
    async get(path, params) {
      const query = new URLSearchParams();
      for (const [key, value] of params || []) query.append(key, String(value));
      const text = query.toString();
      const response = await fetch(path + (text ? '?' + text : ''), {credentials: 'same-origin'});
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || response.statusText);
      return body;
    }
    experimentPath(id) { return '/api/experiments/' + encodeURIComponent(id); }
    version() { return this.get('/api/version'); }
    experiments() { return this.get('/api/experiments'); }
    outline(id) { return this.get(this.experimentPath(id)); }
    trials(id, request) {
      const params = [['sort', request.sort || 'number'], ['desc', request.desc ? 1 : 0],
                      ['offset', request.offset || 0], ['limit', request.limit || 50]];
      if (request.states && request.states.length) params.push(['state', request.states.join(',')]);
      for (const filter of request.filters || []) {
        params.push(['fk', filter.key], ['fo', filter.op], ['fv', filter.value]);
      }
      return this.get(this.experimentPath(id) + '/trials', params);
    }
    trial(id, number) { return this.get(this.experimentPath(id) + '/trials/' + number); }
    curve(id, number, metric, points) {
      return this.get(this.experimentPath(id) + '/curve',
                      [['trial', number], ['metric', metric], ['points', points || 2000]]);
    }
    heatmap(id, metric, x, y) {
      return this.get(this.experimentPath(id) + '/heatmap', [['metric', metric], ['x', x], ['y', y]]);
    }
    sampleUrl(id, number, name, step) {
      return this.experimentPath(id) + '/trials/' + number + '/sample?' +
             new URLSearchParams([['name', name], ['step', String(step)]]).toString();
    }
  }

  // The value of a sort/filter key for a trial row, as the API defines it.
  function keyValue(row, key) {
    if (key === 'number' || key === 'attempt' || key === 'state') return row[key];
    if (key === 'worker') return row.worker;
    if (key === 'rung') return row.rung_epoch;
    if (key.startsWith('param:')) return row.params[key.slice(6)];
    if (key.startsWith('metric:')) return row.metrics[key.slice(7)];
    return undefined;
  }
  function compareValues(a, b) {
    const na = Number(a), nb = Number(b);
    const numeric = a !== '' && b !== '' && !isNaN(na) && !isNaN(nb);
    if (numeric) return na - nb;
    return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  }
  function holds(row, filter) {
    const value = keyValue(row, filter.key);
    if (value === undefined || value === null) return false;
    const c = compareValues(value, filter.value);
    switch (filter.op) {
      case '=': return c === 0;
      case '!=': return c !== 0;
      case '<': return c < 0;
      case '<=': return c <= 0;
      case '>': return c > 0;
      case '>=': return c >= 0;
    }
    return false;
  }

  // ---- the report's source: the inlined snapshot ----
  class SnapshotSource {
    constructor(snapshot) { this.live = false; this.s = snapshot; }
    async version() { return {version: 0}; }
    async experiments() { return this.s.experiments; }
    async outline(id) { this.check(id); return this.s.outline; }
    check(id) {
      if (id !== this.s.experiment && id !== this.s.outline.name) {
        throw new Error(`this report holds experiment '${this.s.outline.name}' only`);
      }
    }
    async trials(id, request) {
      this.check(id);
      let rows = this.s.rows.filter((row) =>
        (!request.states || !request.states.length || request.states.includes(row.state)) &&
        (request.filters || []).every((filter) => holds(row, filter)));
      const key = request.sort || 'number';
      const sign = request.desc ? -1 : 1;
      rows = rows.slice().sort((a, b) => {
        const va = keyValue(a, key), vb = keyValue(b, key);
        const missingA = va === undefined || va === null, missingB = vb === undefined || vb === null;
        if (missingA !== missingB) return missingA ? 1 : -1;
        const c = missingA ? 0 : compareValues(va, vb);
        return sign * (c !== 0 ? c : a.number - b.number);
      });
      const offset = request.offset || 0, limit = request.limit || 50;
      return {total: rows.length, offset, rows: rows.slice(offset, offset + limit)};
    }
    async trial(id, number) {
      this.check(id);
      const detail = this.s.details[String(number)];
      if (!detail) throw new Error(`no trial ${number}`);
      return detail;
    }
    async curve(id, number, metric) {
      this.check(id);
      const curves = this.s.curves[String(number)] || {};
      return curves[metric] ||
             {trial: number, metric, total_points: 0, step: [], epoch: [], value: []};
    }
    async heatmap(id, metric, x, y) {
      this.check(id);
      const map = this.s.heatmaps[`${metric}\t${x}\t${y}`];
      if (!map) throw new Error(`this report has no heat map of ${metric} over ${x} and ${y}`);
      return map;
    }
    sampleUrl(id, number, name, step) {
      const png = this.s.samples[`${number}\t${name}\t${step}`];
      return png ? 'data:image/png;base64,' + png : '';
    }
  }

  GR.snapshot = window.GRIDRUN_SNAPSHOT || null;
  GR.source = GR.snapshot ? new SnapshotSource(GR.snapshot) : new HttpSource();
})();
