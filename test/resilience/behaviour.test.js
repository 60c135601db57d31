// Periscope never changes what a client sees. Each case is played by a raw TCP client against
// the same fixture twice, once under the preload and once without it, and the bytes that come
// back must be identical (only the Date header's value is normalised); under the preload each
// request must also end exactly one server span.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { runFixture, waitForPort, killAll } from '../helpers/spawn.js';
import { startReceiver, attrs } from '../helpers/otlp-receiver.js';

const FIXTURE = 'fixtures/resilience/behaviour-server.cjs';
let receiver;
let env;
const servers = {}; // { traced: { main, manual }, plain: { main, manual } }

before(async () => {
  receiver = await startReceiver();
  env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: 'behaviour' };
  await Promise.all(
    [['traced', true], ['plain', false]].map(async ([name, preload]) => {
      const app = runFixture(FIXTURE, { env, preload });
      const [main, manual] = await Promise.all([waitForPort(app), app.waitForLine(/^continue (\d+)$/).then((m) => Number(m[1]))]);
      servers[name] = { main, manual };
    }),
  );
});

after(async () => {
  await killAll();
  await receiver.close();
});

/**
 * One connection: writes each step once the text in its `after` has come back, then reads until
 * the server ends the connection. Resolves with what arrived (latin1) and how the connection ended.
 */
function exchange(port, steps, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    let next = 0;
    let settled = false;
    const text = () => Buffer.concat(chunks).toString('latin1');
    const pump = () => {
      while (next < steps.length && (steps[next].after === undefined || text().includes(steps[next].after))) {
        const step = steps[next++];
        if (step.end) socket.end();
        else socket.write(Buffer.from(step.write, 'latin1'));
      }
    };
    const done = (how) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: text().replace(/^(date: ).*$/gim, '$1<date>').replaceAll(`:${port}`, ':<port>'), how });
    };
    const timer = setTimeout(() => done('still open'), timeoutMs);
    socket.on('connect', pump);
    socket.on('data', (d) => {
      chunks.push(d);
      pump();
    });
    socket.on('end', () => done('ended by the server'));
    socket.on('error', (e) => done(`error ${e.code}`));
    socket.on('close', () => done('closed'));
  });
}

const spansOf = (marker) =>
  receiver.spans().filter((s) => s.kind === 2 && `${attrs(s)['url.path']}?${attrs(s)['url.query'] ?? ''}`.includes(marker));

/** Waits for the first span of `marker`, lets stragglers arrive, then returns how many there are. */
async function countSpans(marker, expected) {
  await receiver.waitForSpans(() => spansOf(marker).length >= expected, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  return spansOf(marker);
}

/**
 * Plays `steps(marker)` against the traced and the plain server (port `which`), asserts the same
 * bytes came back, and that the traced run ended `spans` server spans.
 */
async function sameBytes(steps, { spans, which = 'main' }) {
  const marker = randomUUID().slice(0, 8);
  const traced = await exchange(servers.traced[which], steps(marker));
  const plain = await exchange(servers.plain[which], steps(marker));
  assert.deepEqual(traced, plain, 'the preload changed what the client received');
  assert.notEqual(traced.how, 'still open', 'the exchange finished');
  const ended = await countSpans(marker, spans);
  assert.equal(ended.length, spans, `exactly ${spans} server spans`);
  return { ...traced, spans: ended };
}

const get = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: app.test\r\n${extra}\r\n`;

test('answers several requests on one keep-alive connection as it does without periscope', async () => {
  const res = await sameBytes(
    (m) => [
      { write: get(`/ka?m=${m}&n=1`) },
      { after: `n=1 body=0`, write: get(`/ka?m=${m}&n=2`) },
      { after: `n=2 body=0`, write: get(`/ka?m=${m}&n=3`, 'Connection: close\r\n') },
    ],
    { spans: 3 },
  );
  assert.equal(res.bytes.match(/HTTP\/1\.1 200 OK/g).length, 3);
});

test('answers pipelined requests written at once, in order, as it does without periscope', async () => {
  const res = await sameBytes(
    (m) => [
      {
        write:
          get(`/p?m=${m}&n=1`) +
          `POST /p?m=${m}&n=2 HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello` +
          get(`/p?m=${m}&n=3`, 'Connection: close\r\n'),
      },
    ],
    { spans: 3 },
  );
  assert.match(res.bytes, /n=1 body=0[^]*n=2 body=5[^]*n=3 body=0/);
});

const expectContinue = (m) => [
  { write: `POST /upload?m=${m} HTTP/1.1\r\nHost: app.test\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n` },
  { after: '100 Continue\r\n\r\n', write: 'hello' },
];

test('sends Node\'s own 100 Continue and then the answer as it does without periscope', async () => {
  const res = await sameBytes(expectContinue, { spans: 1 });
  assert.match(res.bytes, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
});

test('leaves the 100-continue decision to a checkContinue listener as it does without periscope', async () => {
  const res = await sameBytes(expectContinue, { spans: 1, which: 'manual' });
  assert.match(res.bytes, /body=5$/);
});

test('hands an Upgrade request\'s socket to the app with the same bytes on both sides of the 101', async () => {
  const res = await sameBytes(
    (m) => [
      { write: get(`/ws?m=${m}`, 'Connection: Upgrade\r\nUpgrade: echo\r\n') },
      { after: '\r\n\r\n', write: 'ping' },
    ],
    { spans: 1 },
  );
  assert.match(res.bytes, /^HTTP\/1\.1 101 Switching Protocols\r\n[^]*\r\n\r\nping$/);
});

test('hands a CONNECT tunnel to the app with the same bytes as without periscope', async () => {
  const res = await sameBytes(
    (m) => [
      { write: `CONNECT m-${m}.test:443 HTTP/1.1\r\nHost: m-${m}.test:443\r\n\r\n` },
      { after: '\r\n\r\n', write: 'tunnel' },
    ],
    { spans: 1 },
  );
  assert.equal(res.bytes, 'HTTP/1.1 200 Connection Established\r\n\r\ntunnel');
});

test('sends a chunked response with trailers unchanged', async () => {
  const res = await sameBytes((m) => [{ write: get(`/trailers?m=${m}`, 'TE: trailers\r\nConnection: close\r\n') }], { spans: 1 });
  assert.match(res.bytes, /\r\n0\r\nx-checksum: abc123\r\n\r\n$/);
});

test('answers HEAD with the headers and no body, as without periscope', async () => {
  const res = await sameBytes((m) => [{ write: `HEAD /head?m=${m} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n` }], { spans: 1 });
  assert.match(res.bytes, /Content-Length: 11\r\n[^]*\r\n\r\n$/i);
});

test('sends headers given to writeHead as a raw array in their order and case', async () => {
  const res = await sameBytes((m) => [{ write: get(`/raw-array?m=${m}`, 'Connection: close\r\n') }], { spans: 1 });
  assert.match(res.bytes, /x-a: 1\r\nx-b: 2\r\nX-Mixed-Case: three\r\n/);
});

test('behaves the same when the app answers before reading the request body', async () => {
  const res = await sameBytes(
    (m) => [
      { write: `POST /early?m=${m} HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1000\r\n\r\n${'a'.repeat(10)}` },
      { after: 'early answer', write: 'b'.repeat(990) },
      { after: 'early answer', end: true },
    ],
    { spans: 1 },
  );
  assert.match(res.bytes, /early answer$/);
});

test('delivers the same partial bytes when the app destroys the socket mid-response', async () => {
  const res = await sameBytes((m) => [{ write: get(`/destroy?m=${m}`) }], { spans: 1 });
  assert.match(res.bytes, /\r\n7\r\npartial\r\n$/);
  assert.equal(attrs(res.spans[0])['error.type'], 'aborted');
});

test('never adds propagation headers to the app\'s responses, even for a traced request', async () => {
  const res = await sameBytes(
    (m) => [
      {
        write: get(
          `/ka?m=${m}`,
          'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\ntracestate: v=1\r\nbaggage: k=v\r\nConnection: close\r\n',
        ),
      },
    ],
    { spans: 1 },
  );
  const head = res.bytes.slice(0, res.bytes.indexOf('\r\n\r\n'));
  assert.doesNotMatch(head, /^(traceparent|tracestate|baggage|b3|x-b3-[a-z]+):/im);
});

test('adds propagation headers only to the outgoing request, never to the response that waited for it', async () => {
  const res = await sameBytes((m) => [{ write: get(`/outgoing?m=${m}`, 'Connection: close\r\n') }], { spans: 2 });
  assert.match(res.bytes, /\r\n\r\noutgoing 200 GET \/ka\?m=\w+&inner=1 body=0$/);
  assert.doesNotMatch(res.bytes, /traceparent|tracestate|baggage/i);
});

for (const mode of ['close', 'close-all']) {
  const call = mode === 'close' ? 'server.close()' : 'server.close() and closeAllConnections()';
  test(`shows clients the same answers and exits with the same code when the app calls ${call} mid-request`, async () => {
    const marker = randomUUID().slice(0, 8);
    const run = async (preload) => {
      const app = runFixture(FIXTURE, { env, preload, args: [mode, '3'] });
      const port = await waitForPort(app);
      // Three keep-alive requests in flight on three connections; the third makes the app close.
      const seen = await Promise.all([1, 2, 3].map((n) => exchange(port, [{ write: get(`/slow?m=${marker}&n=${n}`) }])));
      const exit = await app.exited;
      const late = await exchange(port, [{ write: get('/late') }]);
      return { seen, late: late.how, exit: { code: exit.code, signal: exit.signal } };
    };
    const [traced, plain] = await Promise.all([run(true), run(false)]);
    assert.deepEqual(traced, plain, 'the preload changed what the clients saw or how the app exited');
    assert.equal(traced.exit.code, 0);
    const spans = await countSpans(marker, 3);
    assert.equal(spans.length, 3, 'exactly one server span per request');
    if (mode === 'close-all') assert.ok(spans.every((s) => attrs(s)['error.type'] === 'aborted'));
  });
}
