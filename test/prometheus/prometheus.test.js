// Proof with the real tools: a Prometheus server (Debian's package) scrapes a fixture app under
// the preload every second, and promtool lints the exposition. Needs `prometheus` and `promtool`
// on PATH; `npm run test:all` installs them, plain `npm test` names this suite as skipped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFixture, waitForPort, killAll, httpGet } from '../helpers/spawn.js';
import { startReceiver } from '../helpers/otlp-receiver.js';
import { waitForMetricsPort, scrape } from '../helpers/metrics.js';
import { startPrometheus, until } from '../helpers/prometheus.js';

let receiver;
let prometheus;
let promUrl;
let app;
let metricsPort;
const dir = mkdtempSync(join(tmpdir(), 'periscope-prom-'));

async function query(expr) {
  return (await prometheus.query(expr)).result;
}

before(async () => {
  receiver = await startReceiver();
  app = runFixture('fixtures/metrics/server.cjs', {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_LOG_LEVEL: 'debug',
      PERISCOPE_ROUTES: '/users/:id',
    },
  });
  const appPort = await waitForPort(app);
  metricsPort = await waitForMetricsPort(app);
  const base = `http://127.0.0.1:${appPort}`;
  for (let i = 0; i < 7; i++) await httpGet(`${base}/users/${i}`);
  for (let i = 0; i < 3; i++) await httpGet(`${base}/status/500`);
  for (let i = 0; i < 2; i++) await httpGet(`${base}/status/404`);

  prometheus = await startPrometheus(
    dir,
    () => `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: periscope\n    static_configs:\n      - targets: ['127.0.0.1:${metricsPort}']\n`,
  );
  promUrl = prometheus.url;
});

after(async () => {
  await prometheus?.stop();
  await killAll();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

test('Prometheus counts exactly the requests sent, by route and status, after two scrapes', async () => {
  await until('two successful scrapes', async () => {
    const r = await query('count_over_time(up{job="periscope"}[1m])');
    return r.length === 1 && Number(r[0].value[1]) >= 2;
  });
  const up = await query('up{job="periscope"}');
  assert.equal(up[0].value[1], '1');
  const byRoute = await until('the request counts', async () => {
    const r = await query('sum by (http_route, http_response_status_code) (http_server_request_duration_seconds_count)');
    return r.length === 3 ? r : undefined;
  });
  const got = Object.fromEntries(byRoute.map((s) => [`${s.metric.http_route ?? '-'} ${s.metric.http_response_status_code}`, Number(s.value[1])]));
  assert.deepEqual(got, { '/users/:id 200': 7, '- 500': 3, '- 404': 2 });
  const q = await query('histogram_quantile(0.99, sum by (le) (http_server_request_duration_seconds_bucket))');
  assert.equal(q.length, 1);
  assert.ok(Number.isFinite(Number(q[0].value[1])));
});

test('Prometheus stores the exemplars, and their trace ids are exported spans', async () => {
  const now = Date.now() / 1000;
  const exemplars = await until('exemplars', async () => {
    const res = await httpGet(
      `${promUrl}/api/v1/query_exemplars?query=${encodeURIComponent('http_server_request_duration_seconds_bucket')}&start=${now - 600}&end=${now + 60}`,
    );
    const body = JSON.parse(res.body);
    const list = (body.data ?? []).flatMap((series) => series.exemplars);
    return list.length > 0 ? list : undefined;
  });
  const traceIds = new Set(exemplars.map((e) => e.labels.trace_id));
  await receiver.waitForSpans((spans) => spans.some((s) => traceIds.has(s.traceId)));
});

test('promtool finds nothing to lint in the text exposition, after any mix of OpenMetrics and text scrapes', async () => {
  for (const om of [true, false, true, true, false]) {
    const res = await scrape(metricsPort, { openmetrics: om });
    assert.equal(res.status, 200);
  }
  const text = (await scrape(metricsPort)).body;
  const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(out.trim(), '');
});
