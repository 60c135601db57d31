// Metrics where the process is not alone: node:cluster workers behind one primary, and an app
// that already has prom-client metrics of its own.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { runFixture, waitForPort, killAll, httpGet } from '../helpers/spawn.js';
import { waitForMetricsPort, scrape, parseExposition, sum } from '../helpers/metrics.js';

const COUNT = 'http_server_request_duration_seconds_count';
const env = { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_LOG_LEVEL: 'debug' };

after(() => killAll());

test('serves the sum of all cluster workers from the primary, and keeps a dead worker\'s counts', async () => {
  const app = runFixture('fixtures/cluster/app.cjs', { env: { ...env, WORKERS: '2' } });
  const port = await waitForPort(app, 20_000);
  const metricsPort = await waitForMetricsPort(app);
  // Only the primary listens for metrics; the workers say so.
  assert.equal(app.stderr().match(/metrics endpoint on/g).length, 1);
  assert.equal(app.stderr().match(/cluster worker: metrics are served by the primary/g).length, 2);

  const workersSeen = new Set();
  for (let i = 0; i < 40; i++) workersSeen.add((await httpGet(`http://127.0.0.1:${port}/x`)).headers['x-worker']);
  assert.equal(workersSeen.size, 2, 'the primary spreads connections round-robin');
  let samples = parseExposition((await scrape(metricsPort)).body);
  assert.equal(sum(samples, COUNT), 40);
  assert.equal(samples.filter((s) => s.name === 'target_info').length, 1);

  // A worker dies: the summed counter must not go down (Prometheus would read a reset).
  app.child.kill('SIGUSR2');
  await app.waitForLine(/^worker-exit \d+$/);
  samples = parseExposition((await scrape(metricsPort)).body);
  assert.equal(sum(samples, COUNT), 40);
  for (let i = 0; i < 5; i++) await httpGet(`http://127.0.0.1:${port}/y`);
  samples = parseExposition((await scrape(metricsPort)).body);
  assert.equal(sum(samples, COUNT), 45);
});

test("leaves an app's own prom-client registry and /metrics route untouched", async () => {
  const app = runFixture('fixtures/own-prom/app.cjs', { env });
  const port = await waitForPort(app);
  const metricsPort = await waitForMetricsPort(app);
  for (let i = 0; i < 3; i++) await httpGet(`http://127.0.0.1:${port}/order`);
  const own = await httpGet(`http://127.0.0.1:${port}/metrics`);
  assert.match(own.body, /^app_orders_total 3$/m);
  assert.doesNotMatch(own.body, /http_server_request_duration_seconds|periscope_|target_info/);
  const ours = parseExposition((await scrape(metricsPort)).body);
  assert.ok(!ours.some((s) => s.name.startsWith('app_orders')));
  // The app's own /metrics route is an ordinary request to periscope.
  assert.equal(sum(ours, COUNT), 4);
});
