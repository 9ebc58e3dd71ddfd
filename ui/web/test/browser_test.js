// Browser test of the gridrun web app in headless Chromium (puppeteer-core,
// pinned in ../package.json, driving the system's /usr/bin/chromium).
// tests/integration/ui_server_test.cpp starts `gridrun ui`'s server on a
// database a real coordinator wrote and runs:
//
//   node browser_test.js --url http://127.0.0.1:PORT/ --db runs.db \
//        --experiment dash --report report.html --out ARTIFACT_DIR \
//        [--asha EXPERIMENT] [--chromium PATH]
//
// Checks: the experiments page lists the experiment; two selected trials'
// curves have non-empty plot data; the gallery's PNGs load; the heat map has
// one cell per axis pair; a metric written to the database after the page
// loaded appears without a reload; hostile names render as text and no
// script runs (no dialog); no console errors; the report file, opened with
// the network off, shows the same curves and images; the trial page shows
// the model's layer table; with --asha, that early-stopping experiment shows
// the compute saved, each trial's rung and why it stopped, and a trial's
// rung arrivals and decisions. A screenshot of each page goes to
// ARTIFACT_DIR. Exit status 0 when every check passed.
'use strict';
const {execFileSync} = require('child_process');
const path = require('path');
const puppeteer = require('puppeteer-core');

function args() {
  const out = {chromium: '/usr/bin/chromium'};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const name of ['url', 'db', 'experiment', 'report', 'out']) {
    if (!out[name]) throw new Error(`missing --${name}`);
  }
  return out;
}

const failures = [];
function check(condition, what) {
  console.log(`${condition ? 'ok  ' : 'FAIL'} ${what}`);
  if (!condition) failures.push(what);
}

// Resolves when the app has finished more renders than `after`.
async function waitForRender(page, after) {
  await page.waitForFunction((n) => Number(document.body.dataset.renders || 0) > n,
                             {timeout: 15000}, after);
}
const renders = (page) => page.evaluate(() => Number(document.body.dataset.renders || 0));

async function main() {
  const a = args();
  const browser = await puppeteer.launch({
    executablePath: a.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  const consoleErrors = [];
  const dialogs = [];
  const watch = (page) => {
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
      if (process.env.GRIDRUN_BROWSER_DEBUG) console.log(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  };
  try {
    const page = await browser.newPage();
    watch(page);
    await page.setViewport({width: 1280, height: 1600});

    // ---- experiments ----
    await page.goto(a.url, {waitUntil: 'networkidle0'});
    await page.waitForSelector('#experiments');
    const names = await page.$$eval('#experiments a.experiment-name', (as) => as.map((x) => x.textContent));
    check(names.includes(a.experiment), `experiments page lists '${a.experiment}' (${names.join(' | ')})`);
    check(names.includes('<img src=x onerror=alert(1)>'), 'a hostile experiment name renders as text');
    check(await page.$$eval('#experiments img', (x) => x.length) === 0, 'no element came from a name');
    await page.screenshot({path: path.join(a.out, 'experiments.png'), fullPage: true});

    // ---- one experiment ----
    const id = await page.$$eval('#experiments tbody tr', (rows, name) =>
      rows.find((r) => r.querySelector('a').textContent === name).dataset.key, a.experiment);
    let n = await renders(page);
    await page.goto(`${a.url}#/e/${encodeURIComponent(id)}`, {waitUntil: 'networkidle0'});
    await page.waitForSelector('#trials tbody tr');
    check(await page.$$eval('#trials tbody tr', (r) => r.length) === 4, 'the trials table has 4 rows');
    // Select exactly trials 0 and 1 (the default selects the first four).
    for (const number of [2, 3]) {
      n = await renders(page);
      await page.click(`#trials tr[data-key="${number}"] input.select-trial`);
      await waitForRender(page, n);
    }
    const series = await page.evaluate(() => {
      const chart = window.GR.charts.curves;
      return chart.series.slice(1).map((s, i) => ({
        label: s.label, points: chart.data[i + 1].filter((v) => v !== null).length}));
    });
    check(series.length === 2 && series.every((s) => s.points > 0),
          `two trials' curves have data: ${JSON.stringify(series)}`);
    const images = await page.$$eval('table.gallery img.sample', (imgs) => imgs.map((i) => i.complete && i.naturalWidth > 0));
    check(images.length === 4 && images.every(Boolean), `the gallery shows 2 trials x 2 epochs of PNGs (${images})`);
    check(await page.$$eval('table.heatmap td.cell', (c) => c.length) === 4, 'the heat map has one cell per axis pair');
    check(await page.$$eval('svg.parallel polyline', (p) => p.length) === 3, 'parallel coordinates draw the 3 trials with fid');
    const headers = await page.$$eval('#trials th', (t) => t.map((x) => x.textContent));
    check(headers.includes('<script>alert(2)</script>'), 'a hostile metric name is a text header');

    // Enlarge a sample, then close it.
    await page.click('table.gallery img.sample');
    check(await page.$('#overlay img') !== null, 'clicking a sample enlarges it');
    await page.click('#overlay');

    // Sort by fid (last values 27, 22, 17, none) by clicking its header.
    n = await renders(page);
    await page.evaluate(() => [...document.querySelectorAll('#trials th')].find((t) => t.textContent === 'fid').click());
    await waitForRender(page, n);
    const order = await page.$$eval('#trials tbody tr', (r) => r.map((x) => x.dataset.key));
    check(order.join(',') === '2,1,0,3', `sorted by fid, missing last: ${order}`);
    await page.screenshot({path: path.join(a.out, 'experiment.png'), fullPage: true});

    // ---- live: a metric written now appears without a reload ----
    const trialId = await page.evaluate(async (e) => (await window.GR.source.trial(e, 1)).trial.id, id);
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', a.db,
      `INSERT INTO metrics (trial_id, name, step, epoch, value) VALUES (${trialId}, 'late/metric', 1, 1, 42)`]);
    await page.waitForFunction(() => [...document.querySelectorAll('select.curve-metric option')]
      .some((o) => o.textContent === 'late/metric'), {timeout: 15000}).then(
      () => check(true, 'a metric written after page load appears without a reload'),
      () => check(false, 'a metric written after page load appears without a reload'));

    // ---- one trial ----
    await page.goto(`${a.url}#/e/${encodeURIComponent(id)}/t/0`, {waitUntil: 'networkidle0'});
    await page.waitForSelector('#trial-metrics');
    const trialImages = await page.$$eval('img.sample', (imgs) => imgs.map((i) => i.complete && i.naturalWidth > 0));
    check(trialImages.length === 2 && trialImages.every(Boolean), 'the trial page shows its 2 samples');
    check(await page.$$eval('.chart .uplot', (c) => c.length) >= 2, 'the trial page draws its curves');
    const table = await page.$eval('#architecture', (x) => x.textContent);
    check(/Total params: [0-9,]+/.test(table) && table.includes('Linear-1'),
          `the trial page shows the model's layer table (${table.length} chars)`);
    await page.screenshot({path: path.join(a.out, 'trial.png'), fullPage: true});

    // ---- early stopping ----
    if (a.asha) {
      const ashaId = await page.evaluate(async (name) =>
        (await window.GR.source.experiments()).find((e) => e.name === name).id, a.asha);
      await page.goto(`${a.url}#/e/${encodeURIComponent(ashaId)}`, {waitUntil: 'networkidle0'});
      await page.waitForSelector('#trials tbody tr');
      const saved = await page.$eval('#compute-saved', (x) => x.textContent);
      check(/^2 of 18 trial-epochs run \(89% saved by early stopping and reuse\)$/.test(saved), `the compute saved: ${saved}`);
      check((await page.$eval('#search-settings', (x) => x.textContent)).includes('ASHA on fid (min)'),
            'the experiment page states the scheduler');
      const ashaHeaders = await page.$$eval('#trials th', (t) => t.map((x) => x.textContent));
      check(ashaHeaders.includes('rung epoch') && ashaHeaders.includes('why paused or stopped'),
            `the trials table has rung and reason columns (${ashaHeaders.join(' | ')})`);
      const reasons = await page.$$eval('#trials td.reason', (t) => t.map((x) => x.textContent));
      check(reasons.length === 2 && reasons.every((r) => r.startsWith('stopped at epoch 1: paused at an ASHA rung')),
            `each stopped trial says why: ${JSON.stringify(reasons)}`);
      check((await page.$$eval('#trials td.rung', (t) => t.map((x) => x.textContent))).join(',') === '1,1',
            'each trial shows the rung epoch it reached');
      await page.screenshot({path: path.join(a.out, 'asha.png'), fullPage: true});
      await page.goto(`${a.url}#/e/${encodeURIComponent(ashaId)}/t/1`, {waitUntil: 'networkidle0'});
      await page.waitForSelector('#decisions');
      const kinds = await page.$$eval('#decisions tr td:first-child', (t) => t.map((x) => x.textContent));
      check(kinds.join(',') === 'PAUSE,FINISH_PAUSED', `the trial's decisions in order: ${kinds}`);
      const rung = await page.$$eval('#rungs tr td', (t) => t.map((x) => x.textContent));
      check(rung[0] === '0' && rung[1] === '1' && ['5', '7'].includes(rung[2]) && rung[4] === 'no',
            `the trial's rung arrival: ${rung}`);
      await page.screenshot({path: path.join(a.out, 'asha-trial.png'), fullPage: true});
    }

    // ---- the report, offline ----
    const report = await browser.newPage();
    watch(report);
    await report.setViewport({width: 1280, height: 1600});
    await report.setOfflineMode(true);
    await report.goto('file://' + path.resolve(a.report), {waitUntil: 'load'});
    await report.waitForSelector('#trials tbody tr');
    await report.waitForFunction(() => window.GR.charts.curves && document.querySelectorAll('table.gallery img.sample').length > 0);
    const reportSeries = await report.evaluate(() =>
      window.GR.charts.curves.data.slice(1).map((d) => d.filter((v) => v !== null).length));
    check(reportSeries.filter((x) => x > 0).length >= 2, `the report draws curves offline: ${reportSeries}`);
    const reportImages = await report.$$eval('table.gallery img.sample', (imgs) => imgs.map((i) => i.complete && i.naturalWidth > 0));
    check(reportImages.length >= 4 && reportImages.every(Boolean), `the report shows its PNGs offline (${reportImages.length})`);
    check(await report.$$eval('table.heatmap td.cell', (c) => c.length) === 4, 'the report has the heat map');
    // The report sorts its inlined rows as the server does.
    n = await renders(report);
    await report.evaluate(() => [...document.querySelectorAll('#trials th')].find((t) => t.textContent === 'fid').click());
    await waitForRender(report, n);
    const reportOrder = await report.$$eval('#trials tbody tr', (r) => r.map((x) => x.dataset.key));
    check(reportOrder.join(',') === '2,1,0,3', `the report sorts by fid like the server: ${reportOrder}`);
    await report.screenshot({path: path.join(a.out, 'report.png'), fullPage: true});

    check(dialogs.length === 0, `no script from the data ran (dialogs: ${JSON.stringify(dialogs)})`);
    check(consoleErrors.length === 0, `no console errors (${JSON.stringify(consoleErrors)})`);
  } catch (error) {
    failures.push(String(error));
    console.log(`FAIL ${error}; console errors so far: ${JSON.stringify(consoleErrors)}`);
    for (const [i, p] of (await browser.pages()).entries()) {
      await p.screenshot({path: path.join(a.out, `failure-${i}.png`), fullPage: true}).catch(() => {});
    }
  } finally {
    await browser.close();
  }
  console.log(failures.length ? `${failures.length} check(s) failed` : 'all browser checks passed');
  process.exit(failures.length ? 1 : 0);
}

main().catch((error) => { console.error(error); process.exit(2); });
