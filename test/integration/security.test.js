// What periscope keeps out of telemetry, and who may read the metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runFixture, waitForPort, killAll, httpGet } from '../helpers/spawn.js';
import { startReceiver, attrs } from '../helpers/otlp-receiver.js';
import { waitForMetricsPort, scrape } from '../helpers/metrics.js';

let receiver;
let base;
let metricsPort;

before(async () => {
  receiver = await startReceiver();
  const app = runFixture('fixtures/styles/cjs.cjs', {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_LOG_LEVEL: 'debug',
      PERISCOPE_METRICS_TOKEN: 's3cret-token',
      PERISCOPE_CAPTURE_REQUEST_HEADERS: 'x-request-id,Authorization,Cookie',
      PERISCOPE_CAPTURE_RESPONSE_HEADERS: 'x-app,set-cookie',
    },
  });
  base = `http://127.0.0.1:${await waitForPort(app)}`;
  metricsPort = await waitForMetricsPort(app);
});

after(async () => {
  await killAll();
  await receiver.close();
});

const find = async (pred) => (await receiver.waitForSpans((all) => all.some(pred))).find(pred);

test('redacts credentials and signed query values in server and client URLs', async () => {
  const target = `http://user:pw@127.0.0.1:${new URL(base).port}/hello?X-Amz-Signature=abc123&page=2`;
  await httpGet(`${base}/call?url=${encodeURIComponent(target)}&token=t0k`);
  const server = await find((s) => s.kind === 2 && attrs(s)['url.path'] === '/call');
  assert.match(attrs(server)['url.query'], /token=REDACTED$/);
  assert.doesNotMatch(JSON.stringify(attrs(server)), /t0k/);
  const client = await find((s) => s.kind === 3 && s.parentSpanId === server.spanId);
  assert.equal(attrs(client)['url.full'], `http://REDACTED:REDACTED@127.0.0.1:${new URL(base).port}/hello?X-Amz-Signature=REDACTED&page=2`);
  const inner = await find((s) => s.kind === 2 && s.parentSpanId === client.spanId);
  assert.equal(attrs(inner)['url.query'], 'X-Amz-Signature=REDACTED&page=2');
});

test('records only the listed headers, with Authorization and Cookie redacted, and leaves user_agent.original alone', async () => {
  await httpGet(`${base}/hello?case=headers`, {
    headers: { 'x-request-id': 'req-1', authorization: 'Bearer secret', cookie: 'sid=secret', 'x-other': 'no', 'user-agent': 'probe/1' },
  });
  const span = await find((s) => attrs(s)['url.query'] === 'case=headers');
  const a = attrs(span);
  assert.deepEqual(a['http.request.header.x-request-id'], ['req-1']);
  assert.deepEqual(a['http.request.header.authorization'], ['REDACTED']);
  assert.deepEqual(a['http.request.header.cookie'], ['REDACTED']);
  assert.deepEqual(a['http.response.header.x-app'], ['kept']);
  assert.equal(a['http.request.header.x-other'], undefined);
  assert.equal(a['user_agent.original'], 'probe/1');
  assert.doesNotMatch(JSON.stringify(a), /secret/);
});

test('answers 401 to a scrape without the bearer token and serves it with the token', async () => {
  assert.equal((await scrape(metricsPort)).status, 401);
  assert.equal((await scrape(metricsPort, { headers: { authorization: 'Bearer wrong-token!' } })).status, 401);
  const ok = await scrape(metricsPort, { headers: { authorization: 'Bearer s3cret-token' } });
  assert.equal(ok.status, 200);
  assert.match(ok.body, /http_server_request_duration_seconds_count/);
});

test('binds the metrics endpoint to loopback when asked', async () => {
  const app = runFixture('fixtures/styles/cjs.cjs', {
    env: { OTEL_TRACES_EXPORTER: 'none', OTEL_LOG_LEVEL: 'debug', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1' },
  });
  await waitForPort(app);
  await waitForMetricsPort(app);
  assert.match(app.stderr(), /metrics endpoint on http:\/\/127\.0\.0\.1:\d+\/metrics/);
});
