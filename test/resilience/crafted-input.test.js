// Hostile input reaches periscope before it reaches the app: request targets near and over the
// header limit, bytes that are not UTF-8, broken percent-escapes, absolute-form targets, garbage
// Host headers and malformed propagation headers. Whatever arrives, the app's answer is the same
// byte for byte with and without the preload, nothing crashes, and what the app sends downstream
// is a fresh valid traceparent or a correct continuation, never a copy of what was invalid.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { runFixture, waitForPort, killAll } from '../helpers/spawn.js';
import { startReceiver, attrs } from '../helpers/otlp-receiver.js';

const FIXTURE = 'fixtures/resilience/crafted-server.cjs';
let receiver;
let app;
const ports = {};

before(async () => {
  receiver = await startReceiver();
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: 'crafted' };
  app = runFixture(FIXTURE, { env });
  const plain = runFixture(FIXTURE, { env, preload: false });
  [ports.traced, ports.plain] = await Promise.all([waitForPort(app), waitForPort(plain)]);
});

after(async () => {
  await killAll();
  await receiver.close();
});

/** Writes `bytes` (latin1) on a fresh connection; resolves with all that came back and how it ended. */
function send(port, bytes, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.from(bytes, 'latin1')));
    const chunks = [];
    let settled = false;
    const done = (how) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks).toString('latin1').replace(/^(date: ).*$/gim, '$1<date>'), how });
    };
    const timer = setTimeout(() => done('still open'), timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => done('ended by the server'));
    // A server that answers early (431) and closes while we still write may reset the connection.
    socket.on('error', (e) => done(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'ended by the server' : `error ${e.code}`));
    socket.on('close', () => done('ended by the server'));
  });
}

async function sameAnswer(bytes) {
  const [traced, plain] = await Promise.all([send(ports.traced, bytes), send(ports.plain, bytes)]);
  assert.deepEqual(traced, plain, 'the preload changed the answer');
  assert.notEqual(traced.how, 'still open');
  return traced;
}

const request = (target, headers = 'Host: app.test\r\n', method = 'GET') => `${method} ${target} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`;
const status = (res) => Number(/^HTTP\/1\.1 (\d{3})/.exec(res.bytes)?.[1]);

const TARGETS = [
  { name: 'a 64 KB target, just under the 65 KiB header limit', target: `/${'a'.repeat(64 * 1000)}`, status: 200 },
  { name: 'an 80 KB target, over the header limit', target: `/${'a'.repeat(80 * 1000)}`, status: 431 },
  { name: 'bytes that are not UTF-8', target: '/caf\xe9/\xff\xfe?q=\x80\x81' },
  { name: 'percent-escapes that do not decode', target: '/a%zz/%e9%/%?x=%%&y=%ff' },
  { name: 'dot segments', target: '/a/../../etc/passwd?p=../../x' },
  { name: 'an absolute-form target', target: 'http://other.test:8080/x?y=1', status: 200 },
  { name: 'an asterisk-form target', target: '*', method: 'OPTIONS' },
];

for (const t of TARGETS) {
  test(`answers ${t.name} exactly as without periscope`, async () => {
    const res = await sameAnswer(request(t.target, undefined, t.method));
    if (t.status !== undefined) assert.equal(status(res), t.status);
  });
}

test('reports an absolute-form target by its path and authority, not its Host header (RFC 9112 §3.2.2)', async () => {
  await sameAnswer(request('http://user@other.test:8080/x/y?absolute=1', 'Host: app.test\r\n'));
  const spans = await receiver.waitForSpans((all) => all.some((s) => attrs(s)['url.query'] === 'absolute=1'));
  const span = spans.find((s) => attrs(s)['url.query'] === 'absolute=1');
  assert.equal(attrs(span)['url.path'], '/x/y');
  assert.equal(attrs(span)['server.address'], 'other.test');
  assert.equal(attrs(span)['server.port'], 8080);
});

const HOSTS = {
  'an unclosed IPv6 bracket': '[::1',
  'spaces': 'a b c',
  'only colons': ':::::',
  'a port out of range': 'app.test:99999999',
  'a non-numeric port': 'app.test:0x50',
  'raw non-ASCII bytes': '\xff\xfe\xe9.test',
  'an empty value': '',
  '4 KB of garbage': '%'.repeat(4096),
};

test('answers requests with garbage Host headers exactly as without periscope', async () => {
  for (const [what, host] of Object.entries(HOSTS)) {
    await sameAnswer(request('/host', `Host: ${host}\r\n`)).catch((e) => assert.fail(`Host with ${what}: ${e.message}`));
  }
  await sameAnswer(request('/host', 'Host: a.test\r\nHost: b.test\r\n'));
});

const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SID = '00f067aa0ba902b7';
// Each set of propagation headers, and whether a correct implementation continues the trace.
const PROPAGATION = [
  { name: 'a valid traceparent', headers: `traceparent: 00-${TID}-${SID}-01\r\n`, continues: true },
  // Node's parser answers 400 to a header value with a control character other than tab, as it
  // does to CR/LF: periscope never sees those.
  { name: 'a DEL control character', headers: `traceparent: 00-${TID}-${SID}-01\x7f\r\n`, rejected: true },
  { name: 'a NUL control character', headers: `traceparent: 00-${TID}-${SID}\x00-01\r\n`, rejected: true },
  { name: 'a tab inside', headers: `traceparent: 00-${TID}-${SID}\t-01\r\n` },
  { name: 'raw non-ASCII bytes', headers: `traceparent: 00-${TID.slice(0, 31)}\xe9-${SID}-01\r\n` },
  { name: 'upper-case hex', headers: `traceparent: 00-${TID.toUpperCase()}-${SID}-01\r\n` },
  { name: 'an all-zero trace id', headers: `traceparent: 00-${'0'.repeat(32)}-${SID}-01\r\n` },
  { name: 'version ff', headers: `traceparent: ff-${TID}-${SID}-01\r\n` },
  { name: 'a 10 KB version-00 traceparent', headers: `traceparent: 00-${TID}-${SID}-01-${'a'.repeat(10_000)}\r\n` },
  { name: 'a 10 KB future-version traceparent', headers: `traceparent: cc-${TID}-${SID}-01-${'a'.repeat(10_000)}\r\n`, continues: true },
  { name: 'two different traceparent headers', headers: `traceparent: 00-${TID}-${SID}-01\r\ntraceparent: 00-${'1'.repeat(32)}-${SID}-01\r\n` },
  { name: 'the same traceparent twice', headers: `traceparent: 00-${TID}-${SID}-01\r\ntraceparent: 00-${TID}-${SID}-01\r\n` },
  {
    name: 'a valid traceparent with a 10 KB garbage tracestate and baggage',
    headers: `traceparent: 00-${TID}-${SID}-01\r\ntracestate: ${'x=\xe9,'.repeat(2000)}\r\nbaggage: ${'k=%zz;\xe9,'.repeat(1000)}\r\n`,
    continues: true,
  },
];

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[0-3]$/;

for (const p of PROPAGATION) {
  const then = p.rejected ? 'which Node rejects' : `and sends downstream ${p.continues ? 'its continuation' : 'a fresh trace'}`;
  test(`answers a request carrying ${p.name} exactly as without periscope, ${then}`, async () => {
    const answer = await sameAnswer(request('/echo', `Host: app.test\r\n${p.headers}`));
    if (p.rejected) return assert.equal(status(answer), 400);
    const res = await send(ports.traced, request('/downstream', `Host: app.test\r\n${p.headers}`));
    assert.equal(status(res), 200, res.bytes.slice(0, 200));
    const seen = JSON.parse(res.bytes.slice(res.bytes.indexOf('\r\n\r\n') + 4));
    const m = TRACEPARENT.exec(seen.traceparent ?? '');
    assert.ok(m, `a valid traceparent went downstream: ${seen.traceparent}`);
    assert.notEqual(m[1], '0'.repeat(32));
    if (p.continues) {
      assert.equal(m[1], TID, 'the trace continues');
      assert.notEqual(m[2], SID, 'with the client span as parent');
    } else {
      // Nothing of the invalid input is reused: no trace id that appeared in it.
      for (const id of p.headers.toLowerCase().match(/[0-9a-f]{32}/g) ?? []) assert.notEqual(m[1], id);
      assert.equal(seen.tracestate, undefined, 'no tracestate without a parent');
    }
    // What else went downstream is well-formed, whatever came in.
    if (seen.tracestate !== undefined) assert.match(seen.tracestate, /^[\x20-\x7e]{1,512}$/);
    if (seen.baggage !== undefined) assert.match(seen.baggage, /^[\x20-\x7e]{1,8192}$/);
  });
}

test('is still serving, with no internal error, after all of it', async () => {
  const res = await send(ports.traced, request('/after'));
  assert.equal(status(res), 200);
  assert.ok(app.running());
  assert.doesNotMatch(app.stderr(), /PERISCOPE_W005|internal error/);
});
