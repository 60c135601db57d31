// needs: prometheus
// The dashboard and the rules against a real Prometheus (Debian's package): two fixture apps under the preload
// play the compose stack's frontend and backend, scraped every second with deploy/prometheus/prometheus.yml's
// jobs and rules.yml loaded; then every dashboard variable and panel expression goes through the HTTP API the
// way Grafana sends it, and must return data. `npm test` names this file as skipped without `prometheus`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { httpGet, killAll, runFixture, waitForPort } from '../helpers/spawn.js';
import { startReceiver } from '../helpers/otlp-receiver.js';
import { waitForMetricsPort } from '../helpers/metrics.js';
import { DEPLOY, readDeploy, yamlOf } from '../helpers/deploy.js';
import { startPrometheus, until } from '../helpers/prometheus.js';

const dashboard = JSON.parse(readDeploy('grafana/dashboards/periscope-node.json'));
const PROM_UID = 'prometheus';
const promTargets = dashboard.panels
  .filter((p) => p.type !== 'row' && p.datasource.uid === PROM_UID)
  .flatMap((p) => p.targets.map((t) => ({ title: `${p.title} (${t.refId})`, ...t })));
// What Grafana puts in for its own variables, at the 1 s scrape interval used here.
const BUILT_IN = { __rate_interval: '1m', __interval: '15s', trace_id: '' };

const dir = mkdtempSync(join(tmpdir(), 'periscope-deploy-'));
let receiver;
let prometheus;
const apps = {};
const values = {}; // dashboard variable -> the values its query listed

const api = (path) => prometheus.api(path);
const query = (expr) => prometheus.query(expr);
const finite = (series) => series.some((s) => Number.isFinite(Number(s.value[1])));

// Grafana's rendering of a multi-value variable for Prometheus: regex-escaped values in an alternation.
function substitute(expr) {
  return expr.replace(/\$(\w+)/g, (all, name) => {
    if (name in BUILT_IN) return BUILT_IN[name];
    const list = values[name];
    if (!list) throw new Error(`no values for $${name} in ${expr}`);
    return `(${list.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&')).join('|')})`;
  });
}

// The labels a target promises: those it groups by (but `le`, which histogram_quantile consumes) and those its
// legend shows.
function expectedLabels(t) {
  const by = [...t.expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((l) => l.trim()));
  const legend = [...(t.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]);
  const heatmap = t.format === 'heatmap';
  return new Set([...by, ...legend].filter((l) => l && (heatmap || l !== 'le')));
}

before(async () => {
  receiver = await startReceiver();
  const common = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_LOG_LEVEL: 'debug', // reports the metrics port
    PERISCOPE_ROUTES: '/users/:id,/status/:code,/call',
    NODE_OPTIONS: '--expose-gc', // /memory runs a GC, so the GC panel has series
  };
  for (const name of ['frontend', 'backend']) {
    const app = runFixture('fixtures/metrics/server.cjs', { env: { ...common, OTEL_SERVICE_NAME: name } });
    apps[name] = { app, port: await waitForPort(app), metrics: await waitForMetricsPort(app) };
  }

  // deploy/prometheus/prometheus.yml with the compose names pointed at the local ports, a 1 s interval, and
  // rules.yml from the repository.
  prometheus = await startPrometheus(dir, (promPort) => {
    const local = { 'frontend:9464': apps.frontend.metrics, 'backend:9464': apps.backend.metrics, 'localhost:9090': promPort };
    const config = yamlOf('prometheus/prometheus.yml');
    config.global = { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' };
    config.rule_files = config.rule_files.map((f) => join(DEPLOY, 'prometheus', f));
    delete config.alerting;
    for (const job of config.scrape_configs) {
      for (const sc of job.static_configs) {
        sc.targets = sc.targets.map((t) => {
          assert.ok(t in local, `prometheus.yml target ${t} has no local stand-in`);
          return `127.0.0.1:${local[t]}`;
        });
      }
    }
    return YAML.stringify(config);
  });
  // Counters must rise between scrapes for rate() to show anything: first a scrape of each app, then traffic.
  await until('a first scrape of both apps', async () => (await query('up{job=~"frontend|backend"} == 1')).result.length === 2);

  const front = `http://127.0.0.1:${apps.frontend.port}`;
  const back = `http://127.0.0.1:${apps.backend.port}`;
  for (const name of ['frontend', 'backend']) await httpGet(`http://127.0.0.1:${apps[name].port}/memory`);
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 5; i++) await httpGet(`${front}/users/${i}`);
    await httpGet(`${front}/status/500`);
    await httpGet(`${front}/call?url=${encodeURIComponent(`${back}/users/${round}`)}`);
    await httpGet(`${front}/call?url=${encodeURIComponent(`${back}/status/503`)}`);
    await httpGet(`${back}/users/${round}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // Two more scrapes after the last request, so every rate() window ends on data.
  const scrapes = async () => Number((await query('count_over_time(up{job="frontend"}[5m])')).result[0].value[1]);
  const scrapesNow = await scrapes();
  await until('two more scrapes', async () => (await scrapes()) >= scrapesNow + 2);
});

after(async () => {
  await prometheus?.stop();
  await killAll();
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('every dashboard variable lists values from a Prometheus scraping periscope', async () => {
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^label_values\((?:(.+),\s*)?(\w+)\)$/.exec(q);
    assert.ok(m, `${v.name}: only label_values(...) is handled here: ${q}`);
    const [, selector, label] = m;
    const match = selector ? `?match[]=${encodeURIComponent(substitute(selector))}` : '';
    values[v.name] = (await api(`label/${label}/values${match}`)).filter((x) => x !== '');
    assert.ok(values[v.name].length > 0, `${v.name}: ${q} lists nothing`);
  }
  assert.deepEqual(values.service, ['backend', 'frontend']);
  assert.deepEqual(values.route, ['/call', '/status/:code', '/users/:id']);
});

test('every panel expression, with the variables substituted, returns data without error', async () => {
  assert.ok(Object.keys(values).length > 0, 'the variables test runs first');
  assert.ok(promTargets.length >= 15, `only ${promTargets.length} PromQL targets`);
  const failures = [];
  for (const t of promTargets) {
    const expr = substitute(t.expr);
    try {
      const data = await query(expr);
      if (data.resultType !== 'vector' || data.result.length === 0) failures.push(`${t.title}: no series for ${expr}`);
      else if (!finite(data.result)) failures.push(`${t.title}: only NaN/Inf for ${expr}`);
      // A misspelt label in `by (...)` or in the legend still returns series, just without that label.
      for (const label of expectedLabels(t)) {
        if (!data.result.some((r) => label in r.metric)) failures.push(`${t.title}: no series has label ${label}`);
      }
    } catch (err) {
      failures.push(`${t.title}: ${err.message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('the panels that show exemplars find some, and their trace ids are spans the apps exported', async () => {
  const withExemplars = promTargets.filter((t) => t.exemplar);
  assert.ok(withExemplars.length >= 2);
  const now = Date.now() / 1000;
  const traceIds = new Set();
  for (const t of withExemplars) {
    const data = await api(`query_exemplars?query=${encodeURIComponent(substitute(t.expr))}&start=${now - 300}&end=${now + 10}`);
    const found = data.flatMap((series) => series.exemplars);
    assert.ok(found.length > 0, `${t.title}: no exemplars`);
    for (const e of found) traceIds.add(e.labels.trace_id);
  }
  await receiver.waitForSpans((spans) => spans.some((s) => traceIds.has(s.traceId)));
});

test('every recording rule yields series from real periscope metrics, and no rule fails to evaluate', async () => {
  const rules = yamlOf('prometheus/rules.yml').groups.flatMap((g) => g.rules);
  const records = rules.filter((r) => r.record).map((r) => r.record);
  for (const record of records) {
    const series = await until(`${record} to have data`, async () => {
      const r = (await query(record)).result;
      return r.length > 0 && finite(r) ? r : undefined;
    }, 10_000);
    assert.ok(series.length > 0);
  }
  const groups = (await api('rules')).groups;
  const loaded = groups.flatMap((g) => g.rules);
  assert.equal(loaded.length, rules.length, 'Prometheus loaded every rule');
  for (const r of loaded) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
});
