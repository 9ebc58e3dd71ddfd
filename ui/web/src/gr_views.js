// gridrun web app, part 3 of 4: the three views. Each render reads through
// GR.source, builds its DOM off-screen with GR.el and swaps it in, so a live
// refresh never shows a half-built page. A view's choices (sort, filters,
// selected trials, metric, ...) live in GR.state and survive refreshes.
'use strict';
(function () {
  const GR = window.GR;
  const el = GR.el;
  GR.state = {experiments: {}};

  const KEY_METRICS = ['fid', 'test/neg_elbo', 'loss/total'];
  const OPERATORS = ['=', '!=', '<', '<=', '>', '>='];

  function section(title, ...children) {
    return el('section', {class: 'section'}, el('h2', null, title), children);
  }
  function select(options, value, onchange, attributes) {
    return el('select', Object.assign({onchange: (e) => onchange(e.target.value)}, attributes || {}),
      options.map((o) => {
        const [v, label] = Array.isArray(o) ? o : [o, o];
        return el('option', {value: v, selected: v === value}, label);
      }));
  }
  function labelled(text, control) { return el('label', null, text + ' ', control); }
  function stateCounts(byState) {
    return Object.entries(byState).map(([s, n]) => `${n} ${s}`).join(', ');
  }
  function progressBar(fraction) {
    const pct = Math.round(100 * (fraction || 0));
    return el('span', null, el('span', {class: 'progress', title: pct + '%'},
                               el('span', {style: `width:${pct}%`})), ` ${pct}%`);
  }
  // The spec's early-stopping settings (experiments.search_json) in a line.
  function searchText(search) {
    if (!search) return '';
    const parts = [];
    if (search.strategy && search.strategy !== 'grid') parts.push(`${search.strategy} search, ${search.trials} trials`);
    const c = search.scheduler;
    if (c) {
      parts.push(c.type === 'asha'
        ? `ASHA on ${c.metric} (${c.mode}): first rung at epoch ${c.min_epochs}, reduction factor ${c.reduction_factor}`
        : `${c.type} rule on ${c.metric} (${c.mode}) from epoch ${c.min_epochs}, after ${c.min_trials} trials`);
    }
    for (const r of search.stop || []) {
      parts.push(r.kind === 'diverged' ? `stop when ${r.metric} is ${r.factor}x worse than its best for ${r.epochs} epochs`
        : r.kind === 'non_finite' ? `stop when ${r.metric} is not finite`
        : `stop when ${r.metric} ${r.kind} ${r.bound}`);
    }
    if (search.keep_best) parts.push(`keep the best epoch by ${search.keep_best.metric} (${search.keep_best.mode})`);
    if (search.keep_trained !== undefined) {
      parts.push(search.keep_trained < 0 ? 'keep every trained model'
        : search.keep_trained === 0 ? 'keep no trained model'
        : `keep the trained models of the newest ${search.keep_trained} complete trials`);
    }
    return parts.join('; ');
  }
  function earlyStopping(outline) { return !!(outline.search && (outline.search.scheduler || (outline.search.stop || []).length)); }
  function trialLink(id, number) {
    return el('a', {href: `#/e/${encodeURIComponent(id)}/t/${number}`}, String(number));
  }

  // ---- experiments ----
  GR.renderExperiments = async function () {
    const list = await GR.source.experiments();
    const rows = list.map((e) => el('tr', {'data-key': e.id},
      el('td', null, el('a', {href: '#/e/' + encodeURIComponent(e.id), class: 'experiment-name'}, e.name)),
      el('td', null, e.status), el('td', null, progressBar(e.progress)),
      el('td', {class: 'num'}, e.trials), el('td', null, stateCounts(e.trials_by_state)),
      el('td', null, GR.formatTime(e.created_ms)), el('td', null, GR.formatTime(e.started_ms)),
      el('td', null, GR.formatTime(e.finished_ms)), el('td', null, GR.formatDuration(e.compute_ms)),
      el('td', {class: 'trial-epochs'}, e.compute_saved)));
    return {
      crumbs: [],
      body: [el('h1', null, 'Experiments'),
             list.length ? el('table', {id: 'experiments'},
               el('thead', null, el('tr', null, ['experiment', 'status', 'progress', 'trials',
                 'by state', 'created', 'started', 'finished', 'compute', 'trial-epochs'].map((h) => el('th', null, h)))),
               el('tbody', null, rows))
             : el('p', {class: 'note'}, 'No experiments yet.')],
    };
  };

  // ---- one experiment ----
  function experimentState(id, outline) {
    let s = GR.state.experiments[id];
    if (!s) {
      s = GR.state.experiments[id] = {
        sort: 'number', desc: false, states: [], filters: [], offset: 0, limit: 50,
        selected: null, metric: null, xAxis: 'step', smoothing: 0, log: false,
        sample: null, heat: null, pcMetric: null,
        newFilter: {key: 'number', op: '=', value: ''},
      };
    }
    const varying = outline.axes.filter((a) => (outline.axis_values[a] || []).length > 1);
    const firstMetric = KEY_METRICS.find((m) => outline.metrics.includes(m)) || outline.metrics[0];
    if (!s.metric || !outline.metrics.includes(s.metric)) s.metric = firstMetric || null;
    if (!s.pcMetric || !outline.metrics.includes(s.pcMetric)) s.pcMetric = firstMetric || null;
    if (!s.sample || !outline.sample_names.includes(s.sample)) s.sample = outline.sample_names[0] || null;
    const otherAxis = varying[1] || outline.axes.find((a) => a !== varying[0]);
    if (!s.heat && varying.length && otherAxis) {
      const preset = GR.snapshot && GR.snapshot.heatmap_default;
      const y = otherAxis;
      s.heat = preset ? {metric: preset.metric, x: preset.x, y: preset.y || y}
                      : {metric: firstMetric, x: varying[0], y};
    }
    if (s.heat && !s.heat.metric) s.heat.metric = firstMetric;  // metrics arrived
    return s;
  }

  function keyOptions(outline) {
    return [['number', '#'], ['state', 'state'], ['attempt', 'attempt'], ['worker', 'worker']]
      .concat(earlyStopping(outline) ? [['rung', 'rung epoch']] : [])
      .concat(outline.axes.map((a) => ['param:' + a, a]))
      .concat(outline.metrics.map((m) => ['metric:' + m, m]));
  }

  function trialsTable(id, outline, page, s, rerender) {
    const stopping = earlyStopping(outline);
    const columns = [['number', '#'], ['state', 'state'], ['attempt', 'attempt'], ['worker', 'worker']]
      .concat(stopping ? [['rung', 'rung epoch']] : [])
      .concat(outline.axes.map((a) => ['param:' + a, a]))
      .concat(outline.metrics.map((m) => ['metric:' + m, m]));
    const head = el('tr', null, el('th', null, 'plot'), columns.map(([key, label]) => el('th', {
      class: 'sortable' + (s.sort === key ? (s.desc ? ' sorted-desc' : ' sorted-asc') : ''),
      title: 'sort by ' + label,
      onclick: () => { s.desc = s.sort === key ? !s.desc : false; s.sort = key; s.offset = 0; rerender(); },
    }, label)), stopping ? el('th', null, 'why paused or stopped') : null);
    const selected = new Set(s.selected);
    const rows = page.rows.map((row) => el('tr', {'data-key': row.number},
      el('td', null, el('input', {type: 'checkbox', class: 'select-trial', checked: selected.has(row.number),
        onchange: (e) => {
          if (e.target.checked) selected.add(row.number); else selected.delete(row.number);
          s.selected = [...selected].sort((a, b) => a - b);
          rerender();
        }})),
      el('td', {class: 'num'}, trialLink(id, row.number)),
      el('td', {class: 'state-' + row.state, title: row.error || null},
         row.state + (row.reused_from ? ` (reused trial ${row.reused_from})` : '')),
      el('td', {class: 'num'}, row.attempt), el('td', null, row.worker),
      stopping ? el('td', {class: 'num rung'}, row.rung_epoch || '') : null,
      outline.axes.map((a) => el('td', null, row.params[a] === undefined ? '' : row.params[a])),
      outline.metrics.map((m) => el('td', {class: 'num'},
        row.metrics[m] === undefined ? '' : GR.formatNumber(row.metrics[m]))),
      stopping ? el('td', {class: 'reason'}, row.state === 'PAUSED' || row.state === 'STOPPED' ? row.error : '') : null));

    const nf = s.newFilter;
    const filters = el('div', {class: 'controls'},
      labelled('state', select([['', 'any']].concat(Object.keys(outline.trials_by_state).map((x) => [x, x])),
        s.states[0] || '', (v) => { s.states = v ? [v] : []; s.offset = 0; rerender(); },
        {class: 'state-filter'})),
      labelled('filter', select(keyOptions(outline), nf.key, (v) => { nf.key = v; }, {class: 'filter-key'})),
      select(OPERATORS, nf.op, (v) => { nf.op = v; }, {class: 'filter-op'}),
      el('input', {class: 'filter-value', value: nf.value, placeholder: 'value',
                   oninput: (e) => { nf.value = e.target.value; }}),
      el('button', {onclick: () => {
        if (nf.value === '') return;
        s.filters.push({key: nf.key, op: nf.op, value: nf.value}); s.offset = 0; rerender();
      }}, 'add filter'),
      s.filters.map((f, i) => el('span', {class: 'chip'}, `${f.key} ${f.op} ${f.value}`,
        el('button', {title: 'remove', onclick: () => { s.filters.splice(i, 1); s.offset = 0; rerender(); }}, '×'))));
    const last = Math.min(page.total, s.offset + page.rows.length);
    const pager = el('div', {class: 'controls'},
      el('button', {disabled: s.offset === 0, onclick: () => { s.offset = Math.max(0, s.offset - s.limit); rerender(); }}, '‹ previous'),
      el('span', {class: 'page-info'}, `${page.total ? s.offset + 1 : 0}–${last} of ${page.total} trials`),
      el('button', {disabled: last >= page.total, onclick: () => { s.offset += s.limit; rerender(); }}, 'next ›'));
    return section('Trials', filters, pager,
      el('div', {style: 'overflow-x:auto'}, el('table', {id: 'trials'}, el('thead', null, head), el('tbody', null, rows))));
  }

  async function curvesSection(id, outline, s, numbers, rerender) {
    if (!s.metric) return section('Learning curves', el('p', {class: 'note'}, 'No metrics yet.'));
    const curves = await Promise.all(numbers.map((n) => GR.source.curve(id, n, s.metric, 2000)));
    const controls = el('div', {class: 'controls'},
      labelled('metric', select(outline.metrics, s.metric, (v) => { s.metric = v; rerender(); }, {class: 'curve-metric'})),
      labelled('x', select(['step', 'epoch'], s.xAxis, (v) => { s.xAxis = v; rerender(); })),
      labelled('smoothing', el('input', {type: 'range', min: 0, max: 0.99, step: 0.01, value: s.smoothing,
        onchange: (e) => { s.smoothing = Number(e.target.value); rerender(); }})),
      labelled('log scale', el('input', {type: 'checkbox', checked: s.log,
        onchange: (e) => { s.log = e.target.checked; rerender(); }})));
    const chartBox = el('div', {class: 'chart curves'});
    const series = curves.map((c, i) => ({
      label: `trial ${c.trial}`, color: GR.color(numbers.indexOf(c.trial)),
      x: c[s.xAxis], y: c.value, total: c.total_points,
    }));
    const note = el('p', {class: 'note'}, numbers.length
      ? `${s.metric} of trials ${numbers.join(', ')} (${series.map((x) => x.x.length).join(' / ')} points drawn)`
      : 'Select trials in the table to plot them.');
    return {node: section('Learning curves', controls, chartBox, note), draw: () => {
      GR.charts.curves = GR.curveChart(chartBox, series, {
        title: s.metric, xLabel: s.xAxis, log: s.log, smoothing: s.smoothing, width: 720, height: 320});
    }};
  }

  async function gallerySection(id, outline, s, numbers, rerender) {
    if (!s.sample) return section('Samples', el('p', {class: 'note'}, 'No samples yet.'));
    const details = await Promise.all(numbers.slice(0, 8).map((n) => GR.source.trial(id, n)));
    const epochs = outline.sample_epochs;
    const rows = details.map((d) => {
      const byEpoch = new Map(d.samples.filter((x) => x.name === s.sample).map((x) => [x.epoch, x]));
      return el('tr', null, el('th', null, 'trial ', trialLink(id, d.trial.number)), epochs.map((epoch) => {
        const image = byEpoch.get(epoch);
        if (!image) return el('td', null, '');
        const src = GR.source.sampleUrl(id, d.trial.number, image.name, image.step);
        return el('td', null, el('img', {class: 'sample', src, alt: `${image.name} epoch ${epoch}`,
          title: `trial ${d.trial.number}, ${image.name}, epoch ${epoch}, step ${image.step}`,
          onclick: () => GR.enlarge(src)}));
      }));
    });
    return section('Samples',
      el('div', {class: 'controls'}, labelled('sample', select(outline.sample_names, s.sample,
        (v) => { s.sample = v; rerender(); }))),
      el('table', {class: 'gallery'},
        el('tr', null, el('th', null, 'trial \\ epoch'), epochs.map((e) => el('th', null, e))), rows));
  }

  async function heatMapSection(id, outline, s, rerender) {
    if (!s.heat || !s.heat.metric) {
      return section('Heat map', el('p', {class: 'note'}, 'The heat map needs a metric, a grid axis with several values and a second axis.'));
    }
    const h = s.heat;
    const controls = el('div', {class: 'controls'},
      labelled('metric', select(outline.metrics, h.metric, (v) => { h.metric = v; rerender(); })),
      labelled('x', select(outline.axes, h.x, (v) => { h.x = v; rerender(); })),
      labelled('y', select(outline.axes, h.y, (v) => { h.y = v; rerender(); })));
    let body;
    try {
      const map = await GR.source.heatmap(id, h.metric, h.x, h.y);
      body = [el('p', {class: 'note'}, `mean ${map.metric} by ${map.x_axis} and ${map.y_axis}`), GR.heatMapTable(map)];
    } catch (error) {
      body = el('p', {class: 'note'}, error.message);
    }
    return section('Heat map', controls, body);
  }

  async function parallelSection(id, outline, s, rerender) {
    if (!s.pcMetric) return section('Parallel coordinates', el('p', {class: 'note'}, 'No metrics yet.'));
    const page = await GR.source.trials(id, {sort: 'metric:' + s.pcMetric, limit: 2000});
    return section('Parallel coordinates',
      el('div', {class: 'controls'}, labelled('metric', select(outline.metrics, s.pcMetric,
        (v) => { s.pcMetric = v; rerender(); })),
        el('span', {class: 'note'}, page.total > page.rows.length ? `the best ${page.rows.length} of ${page.total} trials` : '')),
      GR.parallelCoordinates(outline, page.rows, s.pcMetric));
  }

  GR.renderExperiment = async function (id, rerender) {
    const outline = await GR.source.outline(id);
    const s = experimentState(id, outline);
    const page = await GR.source.trials(id, s);
    if (!s.selected) s.selected = page.rows.slice(0, 4).map((r) => r.number);
    const numbers = s.selected;
    const parts = await Promise.all([
      curvesSection(id, outline, s, numbers, rerender),
      gallerySection(id, outline, s, numbers.length ? numbers : page.rows.map((r) => r.number), rerender),
      heatMapSection(id, outline, s, rerender),
      parallelSection(id, outline, s, rerender),
    ]);
    const summary = el('table', {class: 'summary'},
      el('tr', null, el('th', null, 'id'), el('td', null, outline.id)),
      el('tr', null, el('th', null, 'status'), el('td', null, outline.status)),
      el('tr', null, el('th', null, 'progress'), el('td', null, progressBar(outline.progress))),
      el('tr', null, el('th', null, 'trials'), el('td', null, `${outline.trials} (${stateCounts(outline.trials_by_state)})`)),
      el('tr', null, el('th', null, 'created'), el('td', null, GR.formatTime(outline.created_ms))),
      el('tr', null, el('th', null, 'compute'), el('td', null, GR.formatDuration(outline.compute_ms))),
      el('tr', null, el('th', null, 'trial-epochs'), el('td', {id: 'compute-saved'}, outline.compute_saved)),
      searchText(outline.search) ? el('tr', null, el('th', null, 'search'), el('td', {id: 'search-settings'}, searchText(outline.search))) : null,
      outline.axes.map((a) => el('tr', null, el('th', null, a), el('td', null, (outline.axis_values[a] || []).join(', ')))));
    // Sections that draw after being attached (uPlot measures its container)
    // come as {node, draw}; the rest are elements.
    const draws = parts.filter((p) => !(p instanceof Node)).map((p) => p.draw);
    return {
      crumbs: [el('a', {href: '#/e/' + encodeURIComponent(id)}, outline.name)],
      body: [el('h1', {class: 'experiment-title'}, outline.name), summary,
             el('details', null, el('summary', null, 'grid spec'), el('pre', {class: 'json'}, outline.spec_yaml)),
             Object.entries(outline.model_files || {}).map(([path, text]) => el('details', {class: 'model-file'},
               el('summary', null, 'model file ' + path), el('pre', {class: 'json'}, text))),
             trialsTable(id, outline, page, s, rerender)]
        .concat(parts.map((p) => (p instanceof Node ? p : p.node))),
      after: () => draws.forEach((draw) => draw()),
    };
  };

  // ---- one trial ----
  GR.renderTrial = async function (id, number) {
    const [outline, d] = await Promise.all([GR.source.outline(id), GR.source.trial(id, number)]);
    const t = d.trial;
    const metricNames = Object.keys(Object.assign({}, t.metrics, d.metric_points)).sort();
    const curveNames = metricNames.filter((m) => d.metric_points[m] > 1).slice(0, 12);
    const curves = await Promise.all(curveNames.map((m) => GR.source.curve(id, number, m, 1000)));
    const boxes = curves.map(() => el('div', {class: 'chart'}));
    const samplesByName = {};
    for (const x of d.samples) (samplesByName[x.name] = samplesByName[x.name] || []).push(x);
    return {
      crumbs: [el('a', {href: '#/e/' + encodeURIComponent(id)}, outline.name), ' / trial ', String(number)],
      body: [
        el('h1', null, `${outline.name}: trial ${number}`),
        el('table', {class: 'summary'},
          el('tr', null, el('th', null, 'state'), el('td', {class: 'state-' + t.state}, t.state)),
          t.error ? el('tr', null, el('th', null, t.state === 'PAUSED' || t.state === 'STOPPED' ? 'why' : 'error'),
                       el('td', {id: 'trial-error'}, t.error)) : null,
          t.reused_from ? el('tr', null, el('th', null, 'reused'), el('td', null, `the results of trial id ${t.reused_from}`)) : null,
          el('tr', null, el('th', null, 'progress'), el('td', null, `epoch ${t.epoch}, step ${t.step} of ${t.total_steps}`)),
          el('tr', null, el('th', null, 'started'), el('td', null, GR.formatTime(t.started_ms))),
          el('tr', null, el('th', null, 'finished'), el('td', null, GR.formatTime(t.finished_ms))),
          Object.entries(t.params).map(([k, v]) => el('tr', null, el('th', null, k), el('td', null, v)))),
        section('Metrics', el('table', {id: 'trial-metrics'},
          el('tr', null, el('th', null, 'metric'), el('th', null, 'last value'), el('th', null, 'points')),
          metricNames.map((m) => el('tr', null, el('td', null, m),
            el('td', {class: 'num'}, GR.formatNumber(t.metrics[m])), el('td', {class: 'num'}, d.metric_points[m] || 0)))),
          el('div', {class: 'charts'}, boxes)),
        section('Samples', Object.entries(samplesByName).map(([name, list]) => el('div', null,
          el('h3', null, name), el('table', {class: 'gallery'},
            el('tr', null, list.map((x) => el('th', null, `epoch ${x.epoch}`))),
            el('tr', null, list.map((x) => {
              const src = GR.source.sampleUrl(id, number, x.name, x.step);
              return el('td', null, el('img', {class: 'sample', src, alt: `${x.name} epoch ${x.epoch}`,
                onclick: () => GR.enlarge(src)}));
            })))))),
        section('Attempts', el('table', {id: 'attempts'},
          el('tr', null, ['attempt', 'worker', 'started', 'environment'].map((h) => el('th', null, h))),
          d.attempts.map((a) => el('tr', null, el('td', {class: 'num'}, a.attempt), el('td', null, a.worker),
            el('td', null, GR.formatTime(a.started_ms)),
            el('td', null, el('pre', {class: 'json'}, a.environment === null ? 'unknown' : JSON.stringify(a.environment, null, 1))))))),
        d.rungs.length || d.decisions.length ? section('Early stopping',
          d.rungs.length ? el('table', {id: 'rungs'},
            el('tr', null, ['rung', 'epoch', 'value', 'arrival', 'promoted', 'arrived'].map((h) => el('th', null, h))),
            d.rungs.map((r) => el('tr', null, el('td', {class: 'num'}, r.rung), el('td', {class: 'num'}, r.epoch),
              el('td', {class: 'num'}, r.value === null ? 'not finite' : GR.formatNumber(r.value)),
              el('td', {class: 'num'}, r.seq), el('td', null, r.promoted ? 'yes' : 'no'),
              el('td', null, GR.formatTime(r.arrived_ms))))) : null,
          d.decisions.length ? el('table', {id: 'decisions'},
            el('tr', null, ['decision', 'epoch', 'why', 'when'].map((h) => el('th', null, h))),
            d.decisions.map((x) => el('tr', null, el('td', null, x.kind), el('td', {class: 'num'}, x.epoch || ''),
              el('td', null, x.reason), el('td', null, GR.formatTime(x.decided_ms))))) : null) : null,
        section('Checkpoints', d.checkpoints.length ? el('table', null,
          el('tr', null, ['step', 'epoch', 'kept as', 'size', 'sha256', 'file'].map((h) => el('th', null, h))),
          d.checkpoints.map((c) => el('tr', null, el('td', {class: 'num'}, c.step), el('td', {class: 'num'}, c.epoch),
            el('td', null, c.best ? 'best epoch' : 'newest'),
            el('td', {class: 'num'}, c.size_bytes), el('td', null, c.sha256.slice(0, 12)), el('td', null, c.path))))
          : el('p', {class: 'note'}, 'No checkpoints kept.')),
        section('Architecture', d.architecture.error
          ? el('p', {class: 'note'}, d.architecture.error)
          : [el('p', null, `${d.architecture.model}${d.architecture.from_file ? ' (a model file)' : ' (built in)'}: `,
                el('span', {id: 'architecture-parameters'}, d.architecture.parameters.toLocaleString('en-US')),
                ' trainable parameters'),
             el('pre', {class: 'json', id: 'architecture'}, d.architecture.table)]),
        section('Config', el('pre', {class: 'json'}, JSON.stringify(d.config, null, 2))),
      ],
      after: () => curves.forEach((c, i) => {
        GR.curveChart(boxes[i], [{label: c.metric, color: GR.color(0), x: c.step, y: c.value}],
                      {title: c.metric, xLabel: 'step', width: 420, height: 220});
      }),
    };
  };

  GR.enlarge = function (src) {
    const overlay = el('div', {id: 'overlay', onclick: () => overlay.remove()}, el('img', {src}));
    document.body.appendChild(overlay);
  };
})();
