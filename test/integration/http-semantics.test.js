// Span semantics at the edges of HTTP: statuses, unknown methods, aborted and destroyed
// responses, 100-continue, Upgrade/CONNECT handoffs, inbound propagation and sampling.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { runFixture, waitForPort, killAll, httpRequest } from '../helpers/spawn.js';
import { startReceiver, attrs } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const CLIENT = 3;
const STATUS_ERROR = 2;

let receiver;
let port;
let base;

before(async () => {
  receiver = await startReceiver();
  const app = runFixture('fixtures/http-edge/server.cjs', {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: 'edge' },
  });
  port = await waitForPort(app);
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  await killAll();
  await receiver.close();
});

const byQuery = (q) => (s) => (attrs(s)['url.query'] ?? '').split('&')[0] === q;
async function spanWithQuery(q) {
  const spans = await receiver.waitForSpans((all) => all.some(byQuery(q)));
  return spans.find(byQuery(q));
}
const status = (s) => s.status?.code ?? 0;

test('marks a server span ERROR with error.type for a 5xx and leaves a 4xx unset', async () => {
  await httpRequest(`${base}/status/503?case=5xx`);
  await httpRequest(`${base}/status/404?case=4xx`);
  const s5 = await spanWithQuery('case=5xx');
  const s4 = await spanWithQuery('case=4xx');
  assert.equal(attrs(s5)['http.response.status_code'], 503);
  assert.equal(attrs(s5)['error.type'], '503');
  assert.equal(status(s5), STATUS_ERROR);
  assert.equal(attrs(s4)['http.response.status_code'], 404);
  assert.equal(attrs(s4)['error.type'], undefined);
  assert.equal(status(s4), 0);
});

test('keeps periscope out of the request object the app sees: no own key, and one short line in util.inspect', async () => {
  const seen = JSON.parse((await httpRequest(`${base}/inspect?case=inspect`)).body);
  assert.ok(!seen.keys.some((k) => /periscope/i.test(k)), seen.keys.join());
  assert.ok(!seen.json.some((k) => /periscope/i.test(k)), seen.json.join());
  // The exchange record is a symbol-keyed property (see src/instrumentations/slot.ts) and prints
  // as its name, never as the span it holds.
  const lines = seen.inspect.split('\n').filter((l) => /periscope/.test(l));
  assert.equal(lines.length, 1, seen.inspect);
  // Node 20 prints `[Symbol(x)]: …`, Node 24 and later `Symbol(x): …`.
  assert.match(lines[0], /^\s*\[?Symbol\(periscope\.exchange\)\]?: '?periscope server exchange'?,?$/);
  assert.doesNotMatch(seen.inspect, /RecordingSpan|traceId/);
});

test('names a span HTTP and reports _OTHER for a method outside the semconv list', async () => {
  const res = await httpRequest(`${base}/?case=propfind`, { method: 'PROPFIND' });
  assert.equal(res.body, 'PROPFIND ok');
  const span = await spanWithQuery('case=propfind');
  assert.equal(span.name, 'HTTP');
  assert.equal(attrs(span)['http.request.method'], '_OTHER');
  assert.equal(attrs(span)['http.request.method_original'], 'PROPFIND');
});

test('ends exactly one server span with error.type when the client aborts', async () => {
  await new Promise((resolve) => {
    const req = http.get(`${base}/slow?case=abort`, { agent: false });
    req.on('error', () => resolve());
    setTimeout(() => req.destroy(), 150);
  });
  const span = await spanWithQuery('case=abort');
  assert.equal(attrs(span)['error.type'], 'aborted');
  assert.equal(status(span), STATUS_ERROR);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(receiver.spans().filter(byQuery('case=abort')).length, 1);
});

test('ends exactly one server span when the app destroys the response midway', async () => {
  await new Promise((resolve) => {
    http.get(`${base}/destroy?case=destroy`, { agent: false }, (res) => {
      res.on('data', () => {});
      res.on('error', () => resolve());
      res.on('close', () => resolve());
    }).on('error', () => resolve());
  });
  const span = await spanWithQuery('case=destroy');
  assert.equal(attrs(span)['error.type'], 'aborted');
  assert.equal(attrs(span)['http.response.status_code'], 200);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(receiver.spans().filter(byQuery('case=destroy')).length, 1);
});

test('traces an Expect: 100-continue request handled through checkContinue', async () => {
  const res = await new Promise((resolve, reject) => {
    const req = http.request(`${base}/upload?case=continue`, { method: 'POST', agent: false, headers: { expect: '100-continue' } }, (r) => {
      let body = '';
      r.on('data', (c) => (body += c));
      r.on('end', () => resolve(body));
    });
    req.on('continue', () => req.end('abcdef'));
    req.on('error', reject);
  });
  assert.equal(res, 'continued 6');
  const span = await spanWithQuery('case=continue');
  assert.equal(attrs(span)['http.request.method'], 'POST');
  assert.equal(attrs(span)['http.response.status_code'], 200);
});

test('ends the span of an Upgrade request at the handoff and leaves the socket to the app', async () => {
  const echoed = await new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('GET /ws?case=upgrade HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    });
    let text = '';
    socket.on('data', (d) => {
      text += d;
      if (text.includes('\r\n\r\n') && !text.includes('ping')) socket.write('ping');
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  assert.match(echoed, /^HTTP\/1\.1 101 Switching Protocols/);
  assert.match(echoed, /ping$/);
  const span = await spanWithQuery('case=upgrade');
  assert.equal(span.kind, SERVER);
  assert.equal(attrs(span)['url.path'], '/ws');
});

test('ends the span of a CONNECT request at the handoff', async () => {
  const echoed = await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'CONNECT', path: 'upstream.test:443', agent: false });
    req.on('connect', (_res, socket) => {
      socket.write('tunnel');
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(echoed, 'tunnel');
  const spans = await receiver.waitForSpans((all) => all.some((s) => attrs(s)['http.request.method'] === 'CONNECT'));
  const span = spans.find((s) => attrs(s)['http.request.method'] === 'CONNECT');
  assert.equal(span.name, 'CONNECT');
});

test('continues an inbound trace and re-emits a valid tracestate downstream', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await httpRequest(`${base}/downstream?case=inbound&url=${encodeURIComponent(`${base}/seen?case=inbound-seen`)}`, {
    headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate: 'vendor=abc,other=x', baggage: 'user.tier=gold' },
  });
  const seen = JSON.parse(res.body);
  const server = await spanWithQuery('case=inbound');
  assert.equal(server.traceId, traceId);
  assert.equal(server.parentSpanId, '00f067aa0ba902b7');
  assert.equal(server.traceState, 'vendor=abc,other=x');
  const client = receiver.spans().find((s) => s.kind === CLIENT && s.parentSpanId === server.spanId);
  // The inbound flags did not carry the random-trace-id bit, so neither does the continuation.
  assert.equal(seen.traceparent, `00-${traceId}-${client.spanId}-01`);
  assert.equal(seen.tracestate, 'vendor=abc,other=x');
  assert.equal(seen.baggage, 'user.tier=gold');
});

test('starts a new trace, copying nothing, when the inbound traceparent is malformed', async () => {
  const bad = '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01';
  const res = await httpRequest(`${base}/downstream?case=malformed&url=${encodeURIComponent(`${base}/seen`)}`, {
    headers: { traceparent: bad, tracestate: 'vendor=abc' },
  });
  const seen = JSON.parse(res.body);
  const server = await spanWithQuery('case=malformed');
  assert.equal(server.parentSpanId, undefined);
  assert.notEqual(server.traceId, bad.slice(3, 35).toLowerCase());
  assert.match(seen.traceparent, new RegExp(`^00-${server.traceId}-[0-9a-f]{16}-03$`));
  assert.equal(seen.tracestate, undefined);
});

test('exports nothing for an unsampled inbound request but still propagates its trace with a fresh span id', async () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const res = await httpRequest(`${base}/downstream?case=unsampled&url=${encodeURIComponent(`${base}/seen?case=unsampled-seen`)}`, {
    headers: { traceparent: `00-${traceId}-b7ad6b7169203331-00` },
  });
  const seen = JSON.parse(res.body);
  const [, tid, sid, flags] = seen.traceparent.split('-');
  assert.equal(tid, traceId);
  assert.notEqual(sid, 'b7ad6b7169203331');
  assert.equal(flags, '00');
  // A sampled request sent afterwards arrives, proving the exporter was running meanwhile.
  await httpRequest(`${base}/?case=after-unsampled`);
  await spanWithQuery('case=after-unsampled');
  assert.equal(receiver.spans().filter((s) => s.traceId === traceId).length, 0);
});

test('marks a client span ERROR with error.type when the connection is refused', async () => {
  const closed = net.createServer();
  await new Promise((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = closed.address().port;
  await new Promise((r) => closed.close(r));
  const res = await httpRequest(`${base}/downstream?case=refused&url=${encodeURIComponent(`http://127.0.0.1:${deadPort}/x`)}`);
  // The app's error listener saw the same error it sees without periscope.
  assert.equal(res.status, 502);
  assert.equal(res.body, 'ECONNREFUSED');
  const spans = await receiver.waitForSpans((all) => all.some((s) => s.kind === CLIENT && attrs(s)['server.port'] === deadPort));
  const client = spans.find((s) => s.kind === CLIENT && attrs(s)['server.port'] === deadPort);
  assert.equal(attrs(client)['error.type'], 'ECONNREFUSED');
  assert.equal(status(client), STATUS_ERROR);
});

test('passes outgoing headers named like Object.prototype keys through untouched', async () => {
  const run = async (preload) => {
    const app = runFixture('fixtures/http-edge/prototype-headers.cjs', { preload, env: { OTEL_TRACES_EXPORTER: 'none' } });
    await app.exited;
    return app.stdout();
  };
  const withPeriscope = await run(true);
  assert.equal(withPeriscope, 'http ["c1","t1"]\nfetch ["c2","t2"]\n');
  assert.equal(withPeriscope, await run(false));
});
