// Two services, one trace: a frontend calls a backend through http.request and through fetch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runFixture, waitForPort, killAll, httpGet } from '../helpers/spawn.js';
import { startReceiver, attrs } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const CLIENT = 3;

let receiver;
let frontend;

before(async () => {
  receiver = await startReceiver();
  const common = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' };
  const backend = runFixture('fixtures/chain/backend.cjs', { env: { ...common, OTEL_SERVICE_NAME: 'backend' } });
  const backendPort = await waitForPort(backend);
  const front = runFixture('fixtures/chain/frontend.mjs', {
    env: { ...common, OTEL_SERVICE_NAME: 'frontend', BACKEND_URL: `http://127.0.0.1:${backendPort}` },
  });
  frontend = `http://127.0.0.1:${await waitForPort(front)}`;
});

after(async () => {
  await killAll();
  await receiver.close();
});

test('puts both services of a request in one trace with correct parents', async () => {
  const res = await httpGet(`${frontend}/checkout?item=lamp`, { headers: { baggage: 'tenant=acme' } });
  assert.equal(res.status, 200);
  const body = JSON.parse(res.body);
  assert.deepEqual([body.stock, body.price], [7, 42]);

  // The frontend's server span ends last, possibly in a later export batch: wait for all five.
  const spans = await receiver.waitForSpans(
    (all) => all.filter((s) => s.resource['service.name'] === 'backend').length >= 2 && all.filter((s) => s.resource['service.name'] === 'frontend').length >= 3,
  );
  const root = spans.find((s) => s.kind === SERVER && s.resource['service.name'] === 'frontend');
  assert.ok(root, 'frontend server span');
  assert.equal(root.parentSpanId, undefined);
  const trace = spans.filter((s) => s.traceId === root.traceId);
  assert.equal(trace.length, 5, 'frontend server + 2 clients + 2 backend servers');

  const clients = trace.filter((s) => s.kind === CLIENT);
  assert.equal(clients.length, 2);
  for (const c of clients) {
    assert.equal(c.parentSpanId, root.spanId);
    assert.equal(c.resource['service.name'], 'frontend');
  }
  const backendServers = trace.filter((s) => s.kind === SERVER && s.resource['service.name'] === 'backend');
  assert.deepEqual(backendServers.map((s) => attrs(s)['url.path']).sort(), ['/inventory', '/price']);
  for (const b of backendServers) {
    const parent = clients.find((c) => c.spanId === b.parentSpanId);
    assert.ok(parent, `backend ${attrs(b)['url.path']} is a child of a frontend client span`);
    assert.equal(new URL(attrs(parent)['url.full']).pathname, attrs(b)['url.path']);
  }

  // What the backend saw: traceparent naming the client span of each call, and the baggage.
  for (const seen of body.backendSaw) {
    const [, traceId, spanId, flags] = seen.traceparent.split('-');
    assert.equal(traceId, root.traceId);
    assert.ok(clients.some((c) => c.spanId === spanId));
    assert.equal(flags, '03');
    assert.equal(seen.baggage, 'tenant=acme');
  }
});

test("never traces periscope's own export traffic", async () => {
  await httpGet(`${frontend}/checkout?item=desk`);
  const spans = await receiver.waitForSpans((all) => all.some((s) => attrs(s)['url.query'] === 'item=desk'));
  // Several export requests reached the receiver; none of them became a span.
  assert.ok(receiver.requests.filter((r) => r.path === '/v1/traces').length >= 2);
  assert.ok(!spans.some((s) => String(attrs(s)['url.full'] ?? '').includes('/v1/traces')));
  assert.ok(!spans.some((s) => attrs(s)['url.path'] === '/v1/traces'));
});
