// One --import is complete for every way an app can reach node:http / node:https.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { runFixture, waitForPort, killAll, httpRequest } from '../helpers/spawn.js';
import { startReceiver, attrs } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const CLIENT = 3;

const STYLES = [
  { file: 'fixtures/styles/cjs.cjs', scheme: 'http', protocol: 'http/protobuf' },
  { file: 'fixtures/styles/esm-default.mjs', scheme: 'http', protocol: 'http/json' },
  { file: 'fixtures/styles/esm-namespace.mjs', scheme: 'http', protocol: 'http/protobuf' },
  { file: 'fixtures/styles/esm-named.mjs', scheme: 'http', protocol: 'http/json' },
  { file: 'fixtures/styles/https-cjs.cjs', scheme: 'https', protocol: 'http/protobuf' },
  { file: 'fixtures/styles/https-named.mjs', scheme: 'https', protocol: 'http/json' },
  // Where Node has module.registerHooks, node:https is patched when first asked for (hooks.ts):
  // every way in, the one that resolves nothing included.
  { file: 'fixtures/styles/https-default-bare.mjs', scheme: 'https', protocol: 'http/protobuf' },
  { file: 'fixtures/styles/https-dynamic.mjs', scheme: 'https', protocol: 'http/json' },
  { file: 'fixtures/styles/https-builtin-module.cjs', scheme: 'https', protocol: 'http/protobuf' },
];

const ca = readFileSync(new URL('../../fixtures/tls/cert.pem', import.meta.url));

// The test process talks https to the fixtures with the fixture certificate.
function request(scheme, port, path, body) {
  if (scheme === 'http') return httpRequest(`http://127.0.0.1:${port}${path}`, { method: body ? 'POST' : 'GET', body });
  return new Promise((resolve, reject) => {
    https
      .request(`https://127.0.0.1:${port}${path}`, { ca, agent: false, method: body ? 'POST' : 'GET' }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      })
      .on('error', reject)
      .end(body);
  });
}
const get = (scheme, port, path) => request(scheme, port, path);

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(async () => {
  await killAll();
  await receiver.close();
});

test('node:https, node:crypto and node:worker_threads are loaded only when the app asks for them, where Node lets periscope wait', async () => {
  const app = runFixture('fixtures/styles/no-https.cjs', { env: { OTEL_TRACES_EXPORTER: 'none' } });
  const line = await app.waitForLine(/^\{.*\}$/);
  const seen = JSON.parse(line[0]);
  assert.equal(seen.http, 'function');
  // The ids came from /dev/urandom (random.ts): the client propagated a valid traceparent.
  assert.match(seen.traceparent, /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/);
  assert.equal(seen.httpsLoaded, !seen.registerHooks, 'Node 20 has no registerHooks: patched at start-up there');
  assert.equal(seen.cryptoLoaded, !seen.registerHooks, 'node:https loads node:crypto');
  // Where import-in-the-middle cannot use registerHooks, its loader runs in a thread of its own.
  assert.equal(seen.workerThreadsLoaded, !seen.syncHooks);
  assert.equal((await app.exited).code, 0);
});

for (const style of STYLES) {
  describe(`${style.file} (${style.protocol})`, () => {
    const service = style.file.replace(/\W+/g, '-');
    let port;
    const spansOf = () => receiver.spans().filter((s) => s.resource['service.name'] === service);

    before(async () => {
      const app = runFixture(style.file, {
        env: {
          OTEL_SERVICE_NAME: service,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: style.protocol,
          OTEL_BSP_SCHEDULE_DELAY: '50',
        },
      });
      port = await waitForPort(app);
    });

    test('gets a SERVER span with the stable semconv attributes for an incoming request', async () => {
      const res = await get(style.scheme, port, '/hello?lang=en');
      assert.equal(res.status, 200);
      assert.equal(res.body, 'hello');
      assert.equal(res.headers['x-app'], 'kept');
      const spans = await receiver.waitForSpans(() => spansOf().some((s) => attrs(s)['url.path'] === '/hello'));
      const span = spans.find((s) => s.resource['service.name'] === service && attrs(s)['url.path'] === '/hello');
      assert.equal(span.kind, SERVER);
      assert.equal(span.name, 'GET');
      const a = attrs(span);
      assert.equal(a['http.request.method'], 'GET');
      assert.equal(a['url.scheme'], style.scheme);
      assert.equal(a['url.query'], 'lang=en');
      assert.equal(a['http.response.status_code'], 200);
      assert.equal(a['server.address'], '127.0.0.1');
      assert.equal(a['server.port'], port);
      assert.equal(a['network.peer.address'], '127.0.0.1');
      assert.equal(typeof a['network.peer.port'], 'number');
      assert.equal(a['network.protocol.version'], '1.1');
      assert.equal(span.parentSpanId, undefined);
      assert.equal(span.resource['telemetry.sdk.name'], 'periscope');
    });

    test('gets a CLIENT span for http.request, nested under the server span, with the callback in the request context', async () => {
      const target = `${style.scheme}://127.0.0.1:${port}/echo-headers`;
      const res = await get(style.scheme, port, `/call?url=${encodeURIComponent(target)}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-context-kept'], 'true');
      const seen = JSON.parse(res.body);
      // The outer server span ends last: wait until the whole exchange has arrived.
      const spans = await receiver.waitForSpans(() => spansOf().some((s) => attrs(s)['url.path'] === '/call'));
      const outer = spans.find((s) => s.kind === SERVER && attrs(s)['url.path'] === '/call' && s.resource['service.name'] === service);
      const client = spans.find((s) => s.kind === CLIENT && s.parentSpanId === outer.spanId);
      const inner = spans.find((s) => s.kind === SERVER && s.parentSpanId === client.spanId);
      assert.ok(client, 'client span under the server span');
      assert.ok(inner, 'the callee server span is a child of the client span');
      assert.equal(client.traceId, outer.traceId);
      assert.equal(inner.traceId, outer.traceId);
      assert.equal(attrs(client)['url.full'], target);
      assert.equal(attrs(client)['http.response.status_code'], 200);
      assert.equal(attrs(client)['server.port'], port);
      assert.equal(seen.traceparent, `00-${client.traceId}-${client.spanId}-03`);
    });

    test('gets a CLIENT span for http.get / https.get', async () => {
      const target = `${style.scheme}://127.0.0.1:${port}/hello?via=get`;
      const res = await get(style.scheme, port, `/get?url=${encodeURIComponent(target)}`);
      assert.equal(res.body, 'hello');
      assert.equal(res.headers['x-context-kept'], 'true');
      await receiver.waitForSpans(() => spansOf().some((s) => attrs(s)['url.path'] === '/get'));
      const spans = receiver.spans();
      const inner = spansOf().find((s) => attrs(s)['url.query'] === 'via=get');
      const client = spans.find((s) => s.spanId === inner.parentSpanId);
      assert.equal(client.kind, CLIENT);
      assert.equal(attrs(client)['http.request.method'], 'GET');
    });

    if (style.scheme === 'http') {
      test('gets a CLIENT span for fetch, whose traceparent replaces the one the app set', async () => {
        const target = `http://127.0.0.1:${port}/echo-headers?via=fetch`;
        const res = await get(style.scheme, port, `/fetch?url=${encodeURIComponent(target)}`);
        const seen = JSON.parse(res.body);
        await receiver.waitForSpans(() => spansOf().some((s) => attrs(s)['url.path'] === '/fetch'));
        const spans = receiver.spans();
        const inner = spansOf().find((s) => attrs(s)['url.query'] === 'via=fetch');
        const client = spans.find((s) => s.spanId === inner.parentSpanId);
        const outer = spans.find((s) => s.spanId === client.parentSpanId);
        assert.equal(client.kind, CLIENT);
        assert.equal(outer.kind, SERVER);
        assert.equal(attrs(client)['url.full'], target);
        assert.equal(seen.traceparent, `00-${client.traceId}-${client.spanId}-03`);
      });
    }

    test("nests the app's own @opentelemetry/api spans under the server span", async () => {
      const res = await get(style.scheme, port, '/manual');
      const ids = JSON.parse(res.body);
      const spans = await receiver.waitForSpans(() => spansOf().some((s) => s.name === 'manual-work' && s.traceId === ids.traceId));
      const manual = spans.find((s) => s.name === 'manual-work' && s.traceId === ids.traceId);
      assert.equal(manual.parentSpanId, ids.spanId);
      assert.equal(manual.scope.name, 'fixture-app');
      assert.equal(attrs(manual)['app.step'], 'timer');
    });

    test("runs the request body's events in the request's context", async () => {
      const res = await request(style.scheme, port, '/body', 'x'.repeat(100_000));
      assert.deepEqual(JSON.parse(res.body), { n: 100_000, contextKept: true });
    });

    // Plain http only: over https with agent: false (the helper above) Node closes the connection
    // after such a response without emitting 'end' or 'close' on the request, with or without periscope.
    if (style.scheme === 'http') {
      test("runs a request 'end' listener still waiting when the response finished in the request's context", async () => {
        const ids = JSON.parse((await get(style.scheme, port, '/late-end')).body);
        const spans = await receiver.waitForSpans(() => spansOf().some((s) => s.name === 'late-end-work' && s.traceId === ids.traceId));
        assert.equal(spans.find((s) => s.name === 'late-end-work' && s.traceId === ids.traceId).parentSpanId, ids.spanId);
      });
    }
  });
}
