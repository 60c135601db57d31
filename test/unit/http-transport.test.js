import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { spawn } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { postPayload, parseRetryAfter } from '../../dist/src/telemetry/exporters/http-transport.js';
import { OtlpHttpExporter } from '../../dist/src/telemetry/exporters/otlp.js';
import { ZipkinExporter } from '../../dist/src/telemetry/exporters/zipkin.js';
import { activeContext } from '../../dist/src/telemetry/context.js';
import { isTracingSuppressed } from '../../dist/src/telemetry/suppress.js';
import { attrs, startReceiver } from '../helpers/otlp-receiver.js';

const OPTS = { timeoutMs: 2000, compression: 'none' };
const servers = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r))))));

/** A local server whose handler sees (req, body, res); resolves with its base URL. */
async function serve(handler) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  servers.push(server);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${server.address().port}/v1/traces`;
}

const answer = (status, headers = {}, body = '') => serve((_req, _body, res) => res.writeHead(status, headers).end(body));

function makeSpan(overrides = {}) {
  return {
    name: 'GET /',
    kind: 1,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: undefined,
    parentIsRemote: false,
    traceState: undefined,
    traceFlags: 1,
    startTime: 1700000000123.456,
    endTime: 1700000000124.5,
    attributes: { 'http.response.status_code': 200 },
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0 },
    scope: { name: 'periscope/http', version: '0.1.0' },
    resource: { attributes: { 'service.name': 'shop' } },
    ...overrides,
  };
}

const otlpConfig = (url, overrides = {}) => ({
  url: `${url}/v1/traces`,
  protocol: 'http/protobuf',
  headers: {},
  timeoutMs: 5000,
  compression: 'none',
  ...overrides,
});

test('a 2xx answer is ok and the body arrives with its headers and length', async () => {
  let seen;
  const url = await serve((req, body, res) => {
    seen = { headers: req.headers, body: body.toString() };
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const result = await postPayload(url, { 'Content-Type': 'application/json', 'x-api-key': 's3cret' }, '{"a":1}', OPTS);
  assert.deepEqual(result, { ok: true, retryable: false });
  assert.equal(seen.body, '{"a":1}');
  assert.equal(seen.headers['content-type'], 'application/json');
  assert.equal(seen.headers['x-api-key'], 's3cret');
  assert.equal(seen.headers['content-length'], '7');
  assert.equal(seen.headers['content-encoding'], undefined);
});

test('a 503 with Retry-After in seconds is retryable and carries retryAfterMs', async () => {
  const result = await postPayload(await answer(503, { 'retry-after': '7' }), {}, 'x', OPTS);
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.equal(result.retryAfterMs, 7000);
  assert.match(result.error, /503/);
});

test('Retry-After is understood as delay seconds or as an HTTP date', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('429, 502 and 504 are retryable while 500 and other 4xx are not', async () => {
  for (const status of [429, 502, 504]) {
    const result = await postPayload(await answer(status), {}, 'x', OPTS);
    assert.deepEqual([status, result.ok, result.retryable, result.retryAfterMs], [status, false, true, undefined]);
  }
  for (const status of [400, 401, 404, 413, 500]) {
    const result = await postPayload(await answer(status), {}, 'x', OPTS);
    assert.deepEqual([status, result.ok, result.retryable], [status, false, false]);
  }
});

test('a 400 is not retryable and its text body is quoted in the error', async () => {
  const url = await answer(400, { 'content-type': 'application/json' }, '{"code":3,"message":"bad span"}');
  const result = await postPayload(url, {}, 'x', OPTS);
  assert.equal(result.retryable, false);
  assert.match(result.error, /HTTP 400: \{"code":3,"message":"bad span"\}/);
});

test('a refused connection is retryable', async () => {
  const url = await answer(200);
  const port = new URL(url).port;
  const server = servers.pop();
  await new Promise((r) => server.close(r));
  const result = await postPayload(`http://127.0.0.1:${port}/v1/traces`, {}, 'x', OPTS);
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.match(result.error, /ECONNREFUSED/);
});

test('a server that never answers times out within timeoutMs as retryable', async () => {
  const url = await serve(() => {}); // reads the request, never responds
  const started = Date.now();
  const result = await postPayload(url, {}, 'x', { timeoutMs: 300, compression: 'none' });
  const elapsed = Date.now() - started;
  assert.deepEqual({ ok: result.ok, retryable: result.retryable }, { ok: false, retryable: true });
  assert.match(result.error, /timed out after 300ms/);
  assert.ok(elapsed >= 250 && elapsed < 1500, `took ${elapsed}ms`);
});

test('gzip compression sends Content-Encoding gzip and a body that decompresses', async () => {
  let seen;
  const url = await serve((req, body, res) => {
    seen = { encoding: req.headers['content-encoding'], length: Number(req.headers['content-length']), body };
    res.writeHead(200).end();
  });
  const payload = new TextEncoder().encode('hello '.repeat(1000));
  const result = await postPayload(url, {}, payload, { timeoutMs: 2000, compression: 'gzip' });
  assert.equal(result.ok, true);
  assert.equal(seen.encoding, 'gzip');
  assert.equal(seen.length, seen.body.length);
  assert.ok(seen.body.length < payload.length / 10);
  assert.equal(gunzipSync(seen.body).toString(), 'hello '.repeat(1000));
});

test('a malformed URL resolves to a non-retryable failure instead of throwing', async () => {
  const result = await postPayload('http://exa mple.com:99999/', {}, 'x', OPTS);
  assert.equal(result.ok, false);
  assert.equal(result.retryable, false);
});

/** Calls `fn` with `mod[name]` replaced by a spy that records what `probe` returns at each call. */
async function spyingOn(mod, name, probe, fn) {
  const original = mod[name];
  const seen = [];
  mod[name] = function (...args) {
    seen.push(probe());
    return original.apply(this, args);
  };
  syncBuiltinESMExports(); // make the ESM `import * as` namespaces see the spy
  try {
    await fn();
  } finally {
    mod[name] = original;
    syncBuiltinESMExports();
  }
  return seen;
}

test('an https export runs with tracing suppressed so periscope never traces its own export', async () => {
  // A plain server behind an https: URL: the handshake fails, after https.request was called.
  const url = (await answer(200)).replace('http:', 'https:');
  const https = createRequire(import.meta.url)('node:https');
  let result;
  const seen = await spyingOn(https, 'request', () => isTracingSuppressed(activeContext()), async () => {
    result = await postPayload(url, {}, 'x', OPTS);
  });
  assert.deepEqual(seen, [true]);
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.equal(isTracingSuppressed(activeContext()), false);
});

test('a plain-http export never goes through node:http, whose functions serve the app\'s own requests', async () => {
  const url = await answer(200);
  const http = createRequire(import.meta.url)('node:http');
  let result;
  const requests = await spyingOn(http, 'request', () => true, async () => {
    const gets = await spyingOn(http, 'get', () => true, async () => {
      result = await postPayload(url, {}, 'x', OPTS);
    });
    assert.deepEqual(gets, []);
  });
  assert.deepEqual(requests, []);
  assert.deepEqual(result, { ok: true, retryable: false });
});

test('an export in flight does not keep the process alive', async () => {
  const url = await serve(() => {}); // never answers
  const moduleUrl = new URL('../../dist/src/telemetry/exporters/http-transport.js', import.meta.url).href;
  const script = `import(${JSON.stringify(moduleUrl)}).then((m) => m.postPayload(${JSON.stringify(url)}, {}, 'x', { timeoutMs: 30000, compression: 'gzip' }))`;
  const started = Date.now();
  const code = await new Promise((resolve) => spawn(process.execPath, ['-e', script], { stdio: 'ignore' }).on('exit', resolve));
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 10_000, 'the child waited for the export');
});

test('the OTLP exporter sends protobuf, gzip-compressed, with user headers and a User-Agent', async () => {
  const receiver = await startReceiver();
  try {
    const exporter = new OtlpHttpExporter(otlpConfig(receiver.url, { compression: 'gzip', headers: { authorization: 'Bearer t' } }));
    // A protobuf batch is bytes, encoded by the exporter's own queue as each span ends.
    const queue = exporter.createQueue();
    queue.push(makeSpan());
    const result = await exporter.export(queue.take(512).data);
    assert.deepEqual(result, { ok: true, retryable: false });
    const [span] = await receiver.waitForSpans(1);
    assert.equal(span.name, 'GET /');
    assert.equal(span.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(span.startTimeUnixNano, '1700000000123456000');
    assert.deepEqual(attrs(span), { 'http.response.status_code': 200 });
    assert.deepEqual(span.resource, { 'service.name': 'shop' });
    assert.deepEqual(span.scope, { name: 'periscope/http', version: '0.1.0' });
    const [req] = receiver.requests;
    assert.equal(req.path, '/v1/traces');
    assert.equal(req.contentType, 'application/x-protobuf');
    assert.equal(req.headers['content-encoding'], 'gzip');
    assert.equal(req.headers.authorization, 'Bearer t');
    assert.match(req.headers['user-agent'], /^periscope-agent\/\d+\.\d+\.\d+/);
    await exporter.shutdown();
  } finally {
    await receiver.close();
  }
});

test('the OTLP exporter sends JSON when the protocol is http/json and reports a failing collector', async () => {
  const receiver = await startReceiver();
  try {
    const exporter = new OtlpHttpExporter(otlpConfig(receiver.url, { protocol: 'http/json' }));
    assert.equal((await exporter.export([makeSpan()])).ok, true);
    assert.equal(receiver.requests[0].contentType, 'application/json');
    assert.equal((await receiver.waitForSpans(1))[0].kind, 2);
    receiver.respondWith(503, { 'retry-after': '2' });
    assert.deepEqual(
      { ...(await exporter.export([makeSpan()])), error: undefined },
      { ok: false, retryable: true, retryAfterMs: 2000, error: undefined },
    );
    assert.equal(receiver.spans().length, 1);
    await exporter.shutdown();
  } finally {
    await receiver.close();
  }
});

test('exportSync delivers the unconfirmed batch and the queue in one request from a process that cannot wait for the event loop', async () => {
  const receiver = await startReceiver();
  try {
    const moduleUrl = new URL('../../dist/src/telemetry/exporters/otlp.js', import.meta.url).href;
    // Exports from the 'exit' handler, where no asynchronous work can run any more.
    const script = `
      const { OtlpHttpExporter } = await import(${JSON.stringify(moduleUrl)});
      const exporter = new OtlpHttpExporter(${JSON.stringify(otlpConfig(receiver.url, { compression: 'gzip' }))});
      const span = ${JSON.stringify(makeSpan({ name: 'dying words' }))};
      span.resource = { attributes: { 'service.name': 'shop' } };
      const queue = exporter.createQueue();
      queue.push(span);
      const unconfirmed = queue.take(1).data;
      queue.push({ ...span, name: 'last words' });
      // Two bodies (the batch in flight, then the queue) leave as one request.
      process.on('exit', () => exporter.exportSync([unconfirmed, queue.take(1).data], 5000));
    `;
    // Async spawn: this process must stay free to run the receiver.
    const code = await new Promise((resolve) =>
      spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' }).on('exit', resolve),
    );
    assert.equal(code, 0);
    const spans = await receiver.waitForSpans(2, 5000);
    assert.deepEqual(spans.map((s) => s.name), ['dying words', 'last words']);
    assert.equal(receiver.requests.length, 1);
    assert.equal(receiver.requests[0].headers['content-encoding'], 'gzip');
  } finally {
    await receiver.close();
  }
});

test('the zipkin exporter posts v2 JSON to the spans endpoint', async () => {
  const receiver = await startReceiver();
  try {
    const exporter = new ZipkinExporter({ url: `${receiver.url}/api/v2/spans`, timeoutMs: 5000 });
    assert.equal((await exporter.export([makeSpan()])).ok, true);
    const [span] = await receiver.waitForZipkinSpans(1);
    assert.equal(span.id, 'b7ad6b7169203331');
    assert.equal(span.kind, 'SERVER');
    assert.deepEqual(span.localEndpoint, { serviceName: 'shop' });
    await exporter.shutdown();
  } finally {
    await receiver.close();
  }
});

/** A collector written on node:net that answers each request's head with `reply(head)`'s bytes. */
async function rawCollector(reply, { close = false } = {}) {
  const net = await import('node:net');
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let pending = '';
    socket.on('data', (d) => {
      pending += d.toString('latin1');
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        pending = pending.slice(end + 4 + length);
        socket.write(reply(head));
        if (close) socket.end();
      }
    });
  });
  // The after hook closes every server's connections the way it does for node:http's servers.
  server.closeAllConnections = () => sockets.forEach((socket) => socket.destroy());
  servers.push(server);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${server.address().port}/v1/traces`;
}

test('an answer in chunks, or ended by closing the connection, is read whole', async () => {
  const chunked = await rawCollector(() => 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nfield\r\n9\r\n too long\r\n0\r\nX-Trailer: t\r\n\r\n');
  assert.deepEqual(await postPayload(chunked, {}, 'x', OPTS), { ok: false, retryable: false, error: 'collector answered HTTP 400: field too long' });
  const untilClose = await rawCollector(() => 'HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/plain\r\n\r\nbatch over the limit', { close: true });
  assert.deepEqual(await postPayload(untilClose, {}, 'x', OPTS), { ok: false, retryable: false, error: 'collector answered HTTP 413: batch over the limit' });
  const interim = await rawCollector(() => 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\nRetry-After: 2\r\nContent-Length: 0\r\n\r\n');
  assert.deepEqual(await postPayload(interim, {}, 'x', OPTS), { ok: false, retryable: true, retryAfterMs: 2000, error: 'collector answered HTTP 503' });
});

test('an answer that is not HTTP/1.x fails the export as retryable instead of throwing', async () => {
  const url = await rawCollector(() => 'SSH-2.0-OpenSSH\r\n\r\n');
  const result = await postPayload(url, {}, 'x', OPTS);
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.match(result.error, /other than HTTP/);
});

/**
 * A collector that answers 200 unless `drop(n)` says to drop the n-th request's connection
 * unanswered, and an exporter's own connections to it; `sockets` are the connections it accepted.
 */
async function keepAliveCollector(drop = () => false) {
  const sockets = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    if (drop(++requests)) return req.socket.destroy();
    req.on('end', () => res.writeHead(200, { 'content-length': '0' }).end());
  });
  server.on('connection', (s) => sockets.push(s));
  servers.push(server);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/v1/traces`;
  const { createConnections } = await import('../../dist/src/telemetry/exporters/http-transport.js');
  const connections = createConnections(url);
  return { url, sockets, connections, opts: { ...OPTS, connections }, requests: () => requests };
}

test('batches share one kept connection, and one the collector closed is replaced without failing the batch', async () => {
  const { url, sockets, connections, opts } = await keepAliveCollector();
  assert.deepEqual(await postPayload(url, {}, 'one', opts), { ok: true, retryable: false });
  assert.deepEqual(await postPayload(url, {}, 'two', opts), { ok: true, retryable: false });
  assert.equal(sockets.length, 1);
  // The collector drops its idle connection, as one does after its idle timeout.
  sockets[0].destroy();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await postPayload(url, {}, 'three', opts), { ok: true, retryable: false });
  assert.equal(sockets.length, 2);
  connections.destroy();
});

test('a header value with a line break is refused before anything is sent', async () => {
  let requests = 0;
  const url = await serve((_req, _body, res) => {
    requests++;
    res.end();
  });
  const result = await postPayload(url, { 'x-api-key': 'k\r\nX-Injected: 1' }, 'x', OPTS);
  assert.equal(result.ok, false);
  assert.equal(result.retryable, false);
  assert.match(result.error, /invalid character in the value of header x-api-key/);
  assert.equal(requests, 0);
});

test('a batch whose kept connection is reset before any answer goes once more on a new connection', async () => {
  // The second request arrives on the kept connection, which the collector drops unanswered.
  const { url, sockets, connections, opts, requests } = await keepAliveCollector((n) => n === 2);
  assert.deepEqual(await postPayload(url, {}, 'one', opts), { ok: true, retryable: false });
  assert.deepEqual(await postPayload(url, {}, 'two', opts), { ok: true, retryable: false });
  assert.equal(requests(), 3);
  assert.equal(sockets.length, 2);
  connections.destroy();
});

test('a connection that is dropped before answering on its first request fails the batch as retryable, once', async () => {
  let requests = 0;
  const url = await serve((req) => {
    requests++;
    req.socket.destroy();
  });
  const result = await postPayload(url, {}, 'x', OPTS);
  assert.equal(result.ok, false);
  assert.equal(result.retryable, true);
  assert.match(result.error, /socket hang up|ECONNRESET/);
  assert.equal(requests, 1);
});

/**
 * A collector that answers 200 as soon as it has a request's head and reads nothing more, so an
 * 8 MB body cannot all have been written when the answer comes. `listen` is net.createServer or
 * tls.createServer bound to its options; `accepted` are the connections it took.
 */
async function earlyAnswerCollector(listen, scheme) {
  const accepted = [];
  const server = listen((socket) => {
    accepted.push(socket);
    let head = '';
    const onData = (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    };
    socket.on('data', onData);
  });
  server.closeAllConnections = () => accepted.forEach((socket) => socket.destroy());
  servers.push(server);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `${scheme}://127.0.0.1:${server.address().port}/v1/traces`, accepted };
}

test('a collector that answers before reading the whole request gets that connection closed, not kept for the next batch', async () => {
  const net = await import('node:net');
  const { url, accepted } = await earlyAnswerCollector((onConnection) => net.createServer(onConnection), 'http');
  const { createConnections } = await import('../../dist/src/telemetry/exporters/http-transport.js');
  const connections = createConnections(url);
  const opts = { ...OPTS, connections };
  try {
    assert.deepEqual(await postPayload(url, {}, new Uint8Array(8 * 1024 * 1024), opts), { ok: true, retryable: false });
    assert.deepEqual(await postPayload(url, {}, 'small', opts), { ok: true, retryable: false });
    // The second batch went on a connection of its own.
    assert.equal(accepted.length, 2);
  } finally {
    connections.destroy();
  }
});

test('over https too, an answer before the whole request was written closes that connection instead of leaving it writing', async () => {
  // test/helpers/tls: a self-signed certificate for 127.0.0.1, valid until 2126, made with
  // `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
  // -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1`.
  const { readFileSync } = await import('node:fs');
  const tls = await import('node:tls');
  const https = await import('node:https');
  const dir = new URL('../helpers/tls/', import.meta.url);
  const cert = readFileSync(new URL('cert.pem', dir));
  const key = readFileSync(new URL('key.pem', dir));
  const { url } = await earlyAnswerCollector((onConnection) => tls.createServer({ key, cert }, onConnection), 'https');
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca: cert });
  try {
    assert.deepEqual(await postPayload(url, {}, new Uint8Array(8 * 1024 * 1024), { ...OPTS, connections: agent }), { ok: true, retryable: false });
    // No connection is left busy writing the rest of a batch the collector already answered
    // (the agent lets go of a socket once it has closed).
    const busy = () => Object.values(agent.sockets).flat().length;
    for (let waited = 0; busy() > 0 && waited < 1000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    assert.equal(busy(), 0);
  } finally {
    agent.destroy();
  }
});
