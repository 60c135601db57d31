// Shutdown and crashes: spans ended before the process goes are exported, and the process goes exactly as it would
// have without periscope (same exit status, same crash output), never held longer than PERISCOPE_SHUTDOWN_TIMEOUT.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { httpGet, killAll, runFixture, waitForPort } from '../helpers/spawn.js';
import { attrs, startReceiver } from '../helpers/otlp-receiver.js';

const BOUND_MS = 1000;
const MARGIN_MS = 1500; // process start-up and signal delivery on a loaded machine
const ERROR = 2;

let receiver;
let silent; // a collector that accepts connections and never answers
const silentSockets = new Set();

before(async () => {
  receiver = await startReceiver();
  silent = net.createServer((socket) => silentSockets.add(socket));
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await killAll();
  await receiver.close();
  for (const s of silentSockets) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

// Each run has its own service name, so spans of different runs never mix.
let runs = 0;
function start(file, { protocol = 'http/protobuf', collector = receiver.url, args = [], preload = true } = {}) {
  const service = `lifecycle-${++runs}`;
  const app = runFixture(`fixtures/lifecycle/${file}`, {
    preload,
    args,
    env: {
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      // Nothing leaves on the batch timer: whatever arrives came through the exit path under test.
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      OTEL_METRICS_EXPORTER: 'none',
      PERISCOPE_SHUTDOWN_TIMEOUT: String(BOUND_MS),
    },
  });
  const spans = () => receiver.spans().filter((s) => s.resource['service.name'] === service);
  return { app, spans };
}

// Spans as sorted 'server /work?n=1' / 'client /self?i=0' lines.
const SPAN_KIND = { 2: 'server', 3: 'client' };
function paths(spans) {
  return spans
    .map((s) => {
      const a = attrs(s);
      const url = a['url.full'] === undefined ? `${a['url.path']}${a['url.query'] ? `?${a['url.query']}` : ''}` : a['url.full'].replace(/^http:\/\/[^/]+/, '');
      return `${SPAN_KIND[s.kind]} ${url}`;
    })
    .sort();
}
const get = (port, path) => httpGet(`http://127.0.0.1:${port}${path}`);
// A request whose handler crashes the process gets no answer.
const getDropped = (port, path) => get(port, path).then(
  (res) => assert.fail(`${path} answered ${res.status}`),
  () => undefined,
);

async function timed(promise) {
  const t0 = Date.now();
  const result = await promise;
  return { ...result, ms: Date.now() - t0 };
}

describe('signals', () => {
  for (const [signal, protocol] of [['SIGTERM', 'http/protobuf'], ['SIGINT', 'http/json']]) {
    test(`exports the spans of a server killed by ${signal} and dies by that signal (${protocol})`, async () => {
      const { app, spans } = start('server.mjs', { protocol });
      const port = await waitForPort(app);
      assert.equal((await get(port, '/work?n=1')).status, 200);
      assert.equal((await get(port, '/work?n=2')).status, 200);
      assert.deepEqual(spans(), [], 'nothing is exported before the signal');
      const { code, signal: killedBy } = await app.kill(signal);
      assert.deepEqual({ code, signal: killedBy }, { code: null, signal });
      // The flush ends before the signal is raised again, so the spans are in before the process is gone.
      assert.deepEqual(paths(spans()), ['server /work?n=1', 'server /work?n=2']);
      assert.equal(app.stderr(), '');
    });
  }

  test('exits at once with code 0 when its own SIGTERM handler calls process.exit(0), spans still exported', async () => {
    const { app, spans } = start('sigterm-exit.mjs');
    const port = await waitForPort(app);
    await get(port, '/work?n=1');
    const { code, signal, ms } = await timed(app.kill('SIGTERM'));
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    assert.ok(ms < BOUND_MS, `exited after ${ms}ms`);
    assert.deepEqual(paths(spans()), ['server /work?n=1']);
  });

  test('exports everything when its own SIGTERM handler awaits shutdown() before exiting', async () => {
    const { app, spans } = start('sigterm-shutdown.mjs', { protocol: 'http/json' });
    const port = await waitForPort(app);
    await get(port, '/work?n=1');
    await get(port, '/work?n=2');
    const { code, signal } = await app.kill('SIGTERM');
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    assert.match(app.stdout(), /^shut down$/m);
    assert.deepEqual(paths(spans()), ['server /work?n=1', 'server /work?n=2']);
  });

  for (const [file, expected] of [['server.mjs', { code: null, signal: 'SIGTERM' }], ['sigterm-exit.mjs', { code: 0, signal: null }]]) {
    test(`never holds a SIGTERM exit of ${file} longer than the bound when the collector never answers`, async () => {
      const { app } = start(file, { collector: `http://127.0.0.1:${silent.address().port}` });
      const port = await waitForPort(app);
      await get(port, '/work');
      const { code, signal, ms } = await timed(app.kill('SIGTERM'));
      assert.deepEqual({ code, signal }, expected);
      assert.ok(ms < BOUND_MS + MARGIN_MS, `exited after ${ms}ms`);
    });
  }
});

describe('the end of the program', () => {
  test('exports the spans of a script whose event loop runs dry (beforeExit)', async () => {
    const { app, spans } = start('self-requests.cjs');
    const { code, signal } = await app.exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    // Each request gives a CLIENT and a SERVER span.
    assert.deepEqual(paths(spans()), [
      'client /self?i=0', 'client /self?i=1', 'client /self?i=2',
      'server /self?i=0', 'server /self?i=1', 'server /self?i=2',
    ]);
    assert.equal(app.stderr(), '');
  });

  test('exports the spans ended before process.exit() and keeps its exit code', async () => {
    const { app, spans } = start('self-requests.cjs', { args: ['exit'], protocol: 'http/json' });
    const { code, signal } = await app.exited;
    assert.deepEqual({ code, signal }, { code: 3, signal: null });
    assert.equal(spans().length, 6);
  });

  for (const [how, args, exitCode] of [['a beforeExit exit', [], 0], ['a process.exit()', ['exit'], 3]]) {
    test(`never holds ${how} longer than the bound when the collector never answers`, async () => {
      const { app } = start('self-requests.cjs', { args, collector: `http://127.0.0.1:${silent.address().port}` });
      await app.waitForLine(/^requests done$/);
      const { code, signal, ms } = await timed(app.exited);
      assert.deepEqual({ code, signal }, { code: exitCode, signal: null });
      assert.ok(ms < BOUND_MS + MARGIN_MS, `exited after ${ms}ms`);
    });
  }
});

describe('crashes', () => {
  // Runs the crash without periscope, then with it, and returns both.
  async function crashTwice(path, protocol) {
    const plain = start('server.mjs', { preload: false });
    await getDropped(await waitForPort(plain.app), path);
    const without = await plain.app.exited;

    const traced = start('server.mjs', { protocol });
    const port = await waitForPort(traced.app);
    await get(port, '/work?before=crash');
    await getDropped(port, path);
    const withIt = await traced.app.exited;
    return { without: { ...without, stderr: plain.app.stderr() }, with: { ...withIt, stderr: traced.app.stderr() }, spans: traced.spans };
  }

  function assertCrashSpan(spans, path, type, message) {
    assert.deepEqual(paths(spans), [`server ${path}`, 'server /work?before=crash']);
    const span = spans.find((s) => attrs(s)['url.path'] === path);
    assert.equal(span.status.code, ERROR);
    assert.equal(attrs(span)['error.type'], type);
    const events = span.events.filter((e) => e.name === 'exception');
    assert.equal(events.length, 1, 'one exception event');
    const e = attrs(events[0]);
    assert.equal(e['exception.type'], type);
    assert.equal(e['exception.message'], message);
    assert.match(e['exception.stacktrace'], new RegExp(`^${type}: ${message}\\n\\s+at .*fixtures/lifecycle/app\\.mjs:\\d+`));
  }

  const CASES = [
    { what: 'an exception thrown by a timer of a request', path: '/crash-later', type: 'TypeError', message: 'thrown by a timer of /crash-later', protocol: 'http/protobuf' },
    { what: 'an unhandled rejection in a request', path: '/reject', type: 'RangeError', message: 'rejected in /reject', protocol: 'http/json' },
  ];
  for (const c of CASES) {
    test(`records ${c.what} on its span, exports it and crashes exactly as without periscope (${c.protocol})`, async () => {
      const run = await crashTwice(c.path, c.protocol);
      assert.deepEqual({ code: run.without.code, signal: run.without.signal }, { code: 1, signal: null });
      assert.deepEqual({ code: run.with.code, signal: run.with.signal }, { code: 1, signal: null });
      assert.match(run.without.stderr, new RegExp(c.message));
      assert.equal(run.with.stderr, run.without.stderr);
      // The synchronous flush ends before Node prints the crash and exits.
      assertCrashSpan(run.spans(), c.path, c.type, c.message);
    });
  }

  test(
    'records an exception thrown synchronously by a request handler and crashes exactly as without periscope',
    async () => {
      const run = await crashTwice('/crash', 'http/protobuf');
      assert.deepEqual({ code: run.with.code, signal: run.with.signal }, { code: 1, signal: null });
      // The handler really was called through periscope's wrapper: only those stack frames may differ.
      const ownFrames = /^\s+at .*(\/dist\/|AsyncLocalStorage\.run).*\n/gm;
      assert.equal(run.with.stderr.replace(ownFrames, ''), run.without.stderr);
      assertCrashSpan(run.spans(), '/crash', 'Error', 'thrown in /crash');
    },
  );

  test('ends the request span with the app span a crash happens in, the exception on the app span only', async () => {
    const run = await crashTwice('/crash-in-child', 'http/protobuf');
    assert.deepEqual({ code: run.with.code, signal: run.with.signal }, { code: 1, signal: null });
    assert.equal(run.with.stderr, run.without.stderr);
    const spans = run.spans();
    const server = spans.find((s) => attrs(s)['url.path'] === '/crash-in-child');
    const child = spans.find((s) => s.name === 'child work');
    assert.ok(server, 'the server span of the crashing request is exported');
    assert.ok(child, 'the app span is exported');
    assert.equal(child.parentSpanId, server.spanId);
    assert.equal(child.status.code, ERROR);
    assert.equal(child.events.filter((e) => e.name === 'exception').length, 1);
    assert.equal(server.status.code, ERROR);
    assert.equal(attrs(server)['error.type'], 'TypeError');
    assert.equal(server.events.filter((e) => e.name === 'exception').length, 0);
  });

  test('never holds a crash longer than the bound when the collector never answers', async () => {
    const { app } = start('server.mjs', { collector: `http://127.0.0.1:${silent.address().port}` });
    const port = await waitForPort(app);
    await get(port, '/work');
    const t0 = Date.now();
    await getDropped(port, '/crash-later');
    const { code } = await app.exited;
    const ms = Date.now() - t0;
    assert.equal(code, 1);
    assert.ok(ms < BOUND_MS + MARGIN_MS, `exited after ${ms}ms`);
  });

  test('keeps running, with no blocking flush, when the app has its own uncaughtException handler', async () => {
    const { app, spans } = start('uncaught-handler.mjs');
    const port = await waitForPort(app);
    await get(port, '/work?n=1');
    await getDropped(port, '/crash-later'); // the app's handler drops the connection
    await app.waitForLine(/^caught thrown by a timer of \/crash-later$/);
    assert.equal((await get(port, '/work?n=2')).status, 200);
    // A flush in the crash monitor would have exported /work?n=1 before the app's handler printed its line.
    assert.deepEqual(spans(), []);
    const { signal } = await app.kill('SIGTERM');
    assert.equal(signal, 'SIGTERM');
    assert.deepEqual(paths(spans()), ['server /crash-later', 'server /work?n=1', 'server /work?n=2']);
    // The exception is still recorded on the span it happened in, which ended when its connection was dropped.
    const crashed = spans().find((s) => attrs(s)['url.path'] === '/crash-later');
    assert.equal(crashed.status.code, ERROR);
    assert.deepEqual(crashed.events.map((e) => attrs(e)['exception.type']), ['TypeError']);
  });
});
