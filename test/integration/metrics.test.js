// Prometheus metrics for every request, from the app's own process, scraped over HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { runFixture, waitForPort, killAll, httpGet } from '../helpers/spawn.js';
import { startReceiver, attrs } from '../helpers/otlp-receiver.js';
import { waitForMetricsPort, scrape, parseExposition, sum } from '../helpers/metrics.js';

const DURATION = 'http_server_request_duration_seconds';
let receiver;

before(async () => {
  receiver = await startReceiver();
});
after(async () => {
  await killAll();
  await receiver.close();
});

/** Whether this machine has IPv6 loopback, asked by listening on ::1 from the test process. */
function canListenOnIPv6Loopback() {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

async function startApp(env = {}) {
  const app = runFixture('fixtures/metrics/server.cjs', {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_EXPORTER_PROMETHEUS_PORT: '0',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_LOG_LEVEL: 'debug',
      ...env,
    },
  });
  const port = await waitForPort(app);
  return { app, port, base: `http://127.0.0.1:${port}`, metricsPort: await waitForMetricsPort(app) };
}

describe('a plain node:http app with PERISCOPE_ROUTES', () => {
  let app;
  before(async () => {
    app = await startApp({ PERISCOPE_ROUTES: '/users/:id,/users/me,/files/*.txt', PERISCOPE_IGNORE_PATHS: '/health' });
  });

  test('counts every request by method, route and status, with no raw path as a label', async () => {
    for (let i = 0; i < 5; i++) await httpGet(`${app.base}/users/${i}`);
    await httpGet(`${app.base}/users/me`);
    await httpGet(`${app.base}/files/a.txt`);
    await httpGet(`${app.base}/status/503`);
    await httpGet(`${app.base}/status/404`);
    await httpGet(`${app.base}/health`);
    const samples = parseExposition((await scrape(app.metricsPort)).body);
    const count = `${DURATION}_count`;
    assert.equal(sum(samples, count, { http_route: '/users/:id', http_response_status_code: '200' }), 5);
    assert.equal(sum(samples, count, { http_route: '/users/me' }), 1, 'the most specific template wins');
    assert.equal(sum(samples, count, { http_route: '/files/*.txt' }), 1);
    assert.equal(sum(samples, count, { http_response_status_code: '503', error_type: '503', http_route: undefined }), 1);
    assert.equal(sum(samples, count, { http_response_status_code: '404', error_type: undefined }), 1);
    assert.equal(sum(samples, count), 9, 'the ignored path and the scrape itself are not counted');
    for (const s of samples.filter((x) => x.name.startsWith('http_'))) {
      for (const v of Object.values(s.labels)) assert.doesNotMatch(v, /^\/(users\/\d|status\/|health)/);
    }
    const one = samples.find((s) => s.name === count);
    assert.deepEqual(Object.keys(one.labels).sort(), ['http_request_method', 'http_response_status_code', 'http_route', 'network_protocol_version', 'url_scheme']);
    assert.equal(sum(samples, `${DURATION}_bucket`, { http_route: '/users/:id', le: '+Inf' }), 5);
  });

  test('names the server span after the route and sets http.route', async () => {
    await httpGet(`${app.base}/users/42?x=1`);
    const spans = await receiver.waitForSpans((all) => all.some((s) => attrs(s)['url.path'] === '/users/42'));
    const span = spans.find((s) => attrs(s)['url.path'] === '/users/42');
    assert.equal(span.name, 'GET /users/:id');
    assert.equal(attrs(span)['http.route'], '/users/:id');
  });

  test('records outgoing calls with peer and status', async () => {
    await httpGet(`${app.base}/call?url=${encodeURIComponent(`${app.base}/status/418`)}`);
    const samples = parseExposition((await scrape(app.metricsPort)).body);
    const match = { server_address: '127.0.0.1', server_port: String(app.port), http_response_status_code: '418', error_type: '418' };
    assert.equal(sum(samples, 'http_client_request_duration_seconds_count', match), 1);
  });

  test('reports active requests, body sizes, runtime, target_info and periscope_build_info', async () => {
    const samples = parseExposition((await scrape(app.metricsPort)).body);
    assert.equal(sum(samples, 'http_server_active_requests'), 0);
    assert.ok(sum(samples, 'http_server_response_body_size_bytes_count') >= 5);
    const target = samples.find((s) => s.name === 'target_info');
    assert.equal(target.labels.telemetry_sdk_name, 'periscope');
    assert.ok(target.labels.service_instance_id);
    assert.ok(samples.some((s) => s.name === 'periscope_build_info' && s.labels.version && s.labels.node_version === undefined) === false);
    assert.ok(samples.some((s) => s.name === 'periscope_build_info' && s.labels.node_version));
    for (const name of ['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_utilization_ratio', 'process_resident_memory_bytes']) {
      assert.ok(samples.some((s) => s.name === name), `${name} present`);
    }
    assert.ok(!samples.some((s) => /^nodejs_active_\w+_total$/.test(s.name)), 'no gauge named *_total');
  });

  test('serves OpenMetrics with trace exemplars that match exported spans, and plain text without', async () => {
    await httpGet(`${app.base}/users/7`);
    const om = await scrape(app.metricsPort, { openmetrics: true });
    assert.match(om.headers['content-type'], /^application\/openmetrics-text; version=1\.0\.0/);
    assert.match(om.body, /# EOF\n$/);
    assert.match(om.body, /^# TYPE process_cpu_seconds counter$/m);
    assert.match(om.body, /^process_cpu_seconds_total /m);
    const exemplars = parseExposition(om.body).filter((s) => s.name === `${DURATION}_bucket` && s.exemplar);
    assert.ok(exemplars.length > 0);
    const traceIds = new Set(exemplars.map((s) => s.exemplar.labels.trace_id));
    const spans = await receiver.waitForSpans((all) => all.some((s) => traceIds.has(s.traceId)));
    const hit = spans.find((s) => traceIds.has(s.traceId));
    const ex = exemplars.find((s) => s.exemplar.labels.trace_id === hit.traceId);
    assert.equal(ex.exemplar.labels.span_id, hit.spanId);
    assert.ok(Number(ex.labels.le === '+Inf' ? Infinity : ex.labels.le) >= ex.exemplar.value);
    // Stamped when its span ended (the exposition writes milliseconds).
    const endSeconds = Number(BigInt(hit.endTimeUnixNano) / 1000n) / 1e6;
    assert.ok(Math.abs(ex.exemplar.timestamp - endSeconds) <= 0.001, `exemplar at ${ex.exemplar.timestamp}, span ended at ${endSeconds}`);
    // Scraping OpenMetrics must not change what the text format says afterwards.
    const text = await scrape(app.metricsPort);
    assert.match(text.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    assert.doesNotMatch(text.body, / # \{/);
    assert.match(text.body, /^# TYPE process_cpu_seconds_total counter$/m);
    assert.match(text.body, /^process_cpu_seconds_total /m);
  });
});

describe('metrics without traces', () => {
  test('counts requests the sampler dropped and when no traces are exported at all', async () => {
    const { base, metricsPort } = await startApp({ OTEL_TRACES_SAMPLER: 'always_off', OTEL_TRACES_EXPORTER: 'none' });
    for (let i = 0; i < 3; i++) await httpGet(`${base}/anything`);
    const samples = parseExposition((await scrape(metricsPort)).body);
    assert.equal(sum(samples, `${DURATION}_count`), 3);
    assert.ok(!parseExposition((await scrape(metricsPort, { openmetrics: true })).body).some((s) => s.exemplar));
  });

  test('opens no port and records nothing with OTEL_METRICS_EXPORTER=none', async () => {
    const app = runFixture('fixtures/metrics/server.cjs', {
      env: { OTEL_METRICS_EXPORTER: 'none', OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_LOG_LEVEL: 'debug', OTEL_TRACES_EXPORTER: 'none' },
    });
    await waitForPort(app);
    assert.doesNotMatch(app.stderr(), /metrics endpoint on/);
  });
});

describe('cardinality is bounded by construction', () => {
  test('keeps one series for 100,000 requests to unique paths, with flat memory', async () => {
    const { base, metricsPort } = await startApp({ OTEL_TRACES_EXPORTER: 'none', NODE_OPTIONS: '--expose-gc' });
    await httpGet(`${base}/flood?n=5000`, { timeoutMs: 60_000 });
    const warm = JSON.parse((await httpGet(`${base}/memory`)).body);
    await httpGet(`${base}/flood?n=100000`, { timeoutMs: 120_000 });
    const done = JSON.parse((await httpGet(`${base}/memory`)).body);
    const samples = parseExposition((await scrape(metricsPort)).body);
    const series = samples.filter((s) => s.name === `${DURATION}_count`);
    assert.equal(series.length, 1, 'the flood and the control requests share one label set');
    assert.equal(sum(samples, `${DURATION}_count`), 105_004);
    // Retaining anything per unique path (a series, a span, a context) would leave tens of MB on
    // the heap after GC. RSS is checked too, with a generous bound: V8 keeps freed pages, so RSS
    // grows by ~60 MB over such a flood on Node 24 even without periscope.
    const heapGrowth = (done.heapUsed - warm.heapUsed) / 1048576;
    const rssGrowth = (done.rss - warm.rss) / 1048576;
    assert.ok(heapGrowth < 8, `heap after GC grew by ${heapGrowth.toFixed(1)} MB`);
    assert.ok(rssGrowth < 150, `RSS grew by ${rssGrowth.toFixed(1)} MB`);
  });

  test('folds label sets past PERISCOPE_METRICS_MAX_SERIES into one overflow series and counts them', async () => {
    const { base, metricsPort } = await startApp({ OTEL_TRACES_EXPORTER: 'none', PERISCOPE_METRICS_MAX_SERIES: '20' });
    await httpGet(`${base}/flood?n=400&statuses=1`, { timeoutMs: 60_000 });
    const samples = parseExposition((await scrape(metricsPort)).body);
    const client = samples.filter((s) => s.name === 'http_client_request_duration_seconds_count');
    assert.equal(client.length, 21, '20 series and the overflow series');
    const overflow = client.find((s) => s.labels.otel_metric_overflow === 'true');
    assert.ok(overflow.value > 0);
    assert.equal(sum(samples, 'http_client_request_duration_seconds_count'), 400);
    assert.equal(sum(samples, 'periscope_metric_overflow_total', { metric: 'http_client_request_duration_seconds' }), overflow.value);
  });
});

describe('the endpoint', () => {
  test('warns once when the port is taken, and the app keeps running', async () => {
    const { metricsPort } = await startApp({ OTEL_TRACES_EXPORTER: 'none' });
    const second = runFixture('fixtures/metrics/server.cjs', {
      env: { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort) },
    });
    const port = await waitForPort(second);
    assert.equal((await httpGet(`http://127.0.0.1:${port}/users/1`)).body, 'ok');
    const deadline = Date.now() + 5000;
    while (!/PERISCOPE_W009/.test(second.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const lines = second.stderr().split('\n').filter((l) => l.includes('PERISCOPE_W009'));
    assert.equal(lines.length, 1);
    assert.match(lines[0], new RegExp(`127\\.0\\.0\\.1:${metricsPort} is already in use`));
  });

  test('listens on every interface, IPv4 and IPv6, when no host is set, without looking the host up', async () => {
    const { app, port, metricsPort } = await startApp({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_PROMETHEUS_HOST: undefined });
    if (await canListenOnIPv6Loopback()) {
      assert.match(app.stderr(), new RegExp(`metrics endpoint on http://\\[::\\]:${metricsPort}/metrics`));
      assert.equal((await httpGet(`http://[::1]:${metricsPort}/metrics`)).status, 200);
    } else {
      // Node falls back to 0.0.0.0 where IPv6 is off.
      assert.match(app.stderr(), new RegExp(`metrics endpoint on http://0\\.0\\.0\\.0:${metricsPort}/metrics`));
    }
    assert.equal((await scrape(metricsPort)).status, 200);
    // listen(port, host) loads node:dns to look the host up, even an address; listen(port) does not.
    assert.equal((await httpGet(`http://127.0.0.1:${port}/loaded-by-preload?module=dns`)).body, 'false');
  });

  test('listens on the host set in OTEL_EXPORTER_PROMETHEUS_HOST alone', async () => {
    const { app, port, metricsPort } = await startApp({ OTEL_TRACES_EXPORTER: 'none' });
    assert.match(app.stderr(), new RegExp(`metrics endpoint on http://127\\.0\\.0\\.1:${metricsPort}/metrics`));
    assert.equal((await scrape(metricsPort)).status, 200);
    assert.equal((await httpGet(`http://127.0.0.1:${port}/loaded-by-preload?module=dns`)).body, 'true', 'the control: a host is looked up');
    if (await canListenOnIPv6Loopback()) await assert.rejects(httpGet(`http://[::1]:${metricsPort}/metrics`), { code: 'ECONNREFUSED' });
  });

  test('answers 404 off its path and 405 to other methods', async () => {
    const { metricsPort } = await startApp({ OTEL_TRACES_EXPORTER: 'none', PERISCOPE_METRICS_PATH: '/custom' });
    assert.equal((await scrape(metricsPort)).status, 404);
    assert.equal((await scrape(metricsPort, { path: '/custom' })).status, 200);
  });
});
