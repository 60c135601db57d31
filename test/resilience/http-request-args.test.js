// http.request and friends take a dozen argument shapes, and periscope rewrites them to add its
// propagation headers. A fixture calls them every odd-but-legal way and a set of illegal ways and
// prints what the caller observed; with and without the preload the two transcripts must be the
// same, apart from the traceparent/tracestate/baggage periscope owns on outgoing requests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runFixture, killAll } from '../helpers/spawn.js';
import { startReceiver } from '../helpers/otlp-receiver.js';

const FIXTURE = 'fixtures/resilience/request-args.cjs';
let receiver;
let traced;
let plain;

async function transcript(preload) {
  const app = runFixture(FIXTURE, {
    preload,
    // The fixture ends with process.exit(). A batch still waiting for the receiver's answer then is
    // sent again by the exit flush (at-least-once, lifecycle.ts), and would show here as spans
    // exported twice. With no timed export during the battery (~100 spans, a batch is 512), every
    // span leaves once, through the exit flush.
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000', OTEL_SERVICE_NAME: 'request-args' },
  });
  const exit = await app.exited;
  assert.equal(exit.code, 0, `the fixture (preload ${preload}) failed:\n${app.stderr()}`);
  const lines = app.stdout().trim().split('\n');
  const arrived = /^arrived (\d+)$/.exec(lines.pop() ?? '');
  assert.ok(arrived, `the fixture finished its battery:\n${app.stdout().slice(-500)}`);
  const calls = lines.map((l) => JSON.parse(l));
  return { calls, arrived: Number(arrived[1]), stderr: app.stderr() };
}

before(async () => {
  receiver = await startReceiver();
  [traced, plain] = await Promise.all([transcript(true), transcript(false)]);
});

after(async () => {
  await killAll();
  await receiver.close();
});

/** A call as the caller saw it, minus whether a traceparent reached the server. */
function observed(call) {
  if (typeof call.received !== 'object' || call.received === null) return call;
  const { propagated, ...received } = call.received;
  return { ...call, received };
}

test('gives every caller the same result with and without periscope, call by call', () => {
  assert.equal(traced.calls.length, plain.calls.length);
  for (let i = 0; i < plain.calls.length; i++) {
    assert.deepEqual(observed(traced.calls[i]), observed(plain.calls[i]), `call ${i}: ${plain.calls[i].name}`);
  }
});

test('lets the same number of requests reach the servers', () => {
  assert.equal(traced.arrived, plain.arrived);
  assert.ok(plain.arrived >= 40, `${plain.arrived} requests arrived`);
});

test('throws the same errors for illegal arguments, synchronously, as Node does alone', () => {
  const thrown = (run) => run.calls.filter((c) => c.threw).map((c) => `${c.name}: ${c.threw.code}`);
  assert.deepEqual(thrown(traced), thrown(plain));
  const codes = new Set(plain.calls.filter((c) => c.threw).map((c) => c.threw.code));
  for (const code of ['ERR_INVALID_URL', 'ERR_INVALID_PROTOCOL', 'ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_SOCKET_BAD_PORT']) {
    assert.ok(codes.has(code), `the battery provokes ${code}`);
  }
});

test('propagates on every call that reached a server, except with headers it cannot read as an object', () => {
  for (const call of traced.calls) {
    if (call.status !== 200) continue;
    // Raw header arrays and (illegal) string headers go through untouched.
    const expected = !/headers: (raw array|a string)/.test(call.name);
    assert.equal(call.received.propagated, expected, `${call.name}: traceparent ${expected ? 'added' : 'not added'}`);
  }
  const callerOwn = plain.calls.filter((c) => c.received?.propagated).map((c) => c.name);
  assert.deepEqual(callerOwn, ["({ headers: the caller's own TraceParent })"], 'without periscope only the caller adds one');
});

test('reports no internal error and exports no span twice', async () => {
  assert.doesNotMatch(traced.stderr, /PERISCOPE_W005|internal error/);
  const spans = await receiver.waitForSpans((all) => all.some((s) => s.kind === 3), 10_000);
  const ids = spans.map((s) => s.spanId);
  assert.equal(new Set(ids).size, ids.length);
});
