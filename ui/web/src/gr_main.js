// gridrun web app, part 4 of 4: the router (#/, #/e/ID, #/e/ID/t/N) and
// live updates. Live (served by `gridrun ui`): every 2 s the app asks
// /api/version, which grows when the database changed, and then renders the
// current view again with the new data (its choices kept). A report has no
// live updates and opens on its experiment.
'use strict';
(function () {
  const GR = window.GR;
  const POLL_MS = 2000;
  let renderCount = 0;
  let lastVersion = null;

  function route() {
    const hash = decodeURIComponent(location.hash.replace(/^#/, '') || '/');
    let m = hash.match(/^\/e\/([^/]+)\/t\/(\d+)$/);
    if (m) return {view: 'trial', id: m[1], number: Number(m[2])};
    m = hash.match(/^\/e\/([^/]+)$/);
    if (m) return {view: 'experiment', id: m[1]};
    return {view: 'experiments'};
  }

  // Renders the current route; a newer render started meanwhile wins.
  GR.render = async function () {
    const mine = ++renderCount;
    const r = route();
    const rerender = () => GR.render();
    let result;
    try {
      if (r.view === 'trial') result = await GR.renderTrial(r.id, r.number);
      else if (r.view === 'experiment') result = await GR.renderExperiment(r.id, rerender);
      else result = await GR.renderExperiments();
    } catch (error) {
      result = {crumbs: [], body: [GR.el('p', {class: 'error'}, 'Cannot show this page: ' + error.message)]};
    }
    if (mine !== renderCount) return;
    const app = document.getElementById('app');
    const scroll = window.scrollY;
    for (const chart of Object.values(GR.charts)) if (chart && chart.destroy) chart.destroy();
    GR.charts = {};
    app.replaceChildren(...result.body);
    document.getElementById('crumbs').replaceChildren(...(result.crumbs.length ? [' / '] : []), ...result.crumbs);
    if (result.after) result.after();
    window.scrollTo(0, scroll);
    GR.renders = (GR.renders || 0) + 1;  // for tests: how many renders finished
    document.body.setAttribute('data-renders', String(GR.renders));
  };

  // Polls every 2 s, or less often when a refresh is slow (a huge
  // experiment): the next poll waits three times as long as the last render,
  // so a viewer never keeps the server busy more than a third of the time.
  let nextPollMs = POLL_MS;
  async function poll() {
    try {
      const {version} = await GR.source.version();
      if (lastVersion !== null && version !== lastVersion) {
        const started = performance.now();
        await GR.render();
        nextPollMs = Math.max(POLL_MS, 3 * (performance.now() - started));
      }
      lastVersion = version;
      document.getElementById('live').textContent = 'live, updated ' + new Date().toLocaleTimeString();
    } catch (error) {
      document.getElementById('live').textContent = 'server unreachable: ' + error.message;
    }
    setTimeout(poll, nextPollMs);
  }

  window.addEventListener('hashchange', () => GR.render());
  window.addEventListener('DOMContentLoaded', () => {
    if (GR.snapshot) {
      if (!location.hash) location.replace('#/e/' + encodeURIComponent(GR.snapshot.experiment));
      document.getElementById('live').textContent =
        'report written ' + GR.formatTime(GR.snapshot.generated_ms);
      GR.render();
    } else {
      GR.render();
      poll();
    }
  });
})();
