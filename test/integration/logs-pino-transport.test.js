// pino transports write from a worker thread that thread-stream starts, and that worker inherits
// the preload: periscope must start once (in the app's thread), stay off in the worker, even with
// PERISCOPE_WORKER_THREADS=true, and the records the worker writes must still carry the ids.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGISTER, httpGet, killAll, runFixture, waitForPort } from '../helpers/spawn.js';
import { startReceiver } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const STARTED = /started on Node/g;

let receiver;
let dir;
before(async () => {
  receiver = await startReceiver();
  dir = mkdtempSync(join(tmpdir(), 'periscope-pino-transport-'));
});
after(async () => {
  await killAll();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

async function runTransportApp(file, service, { preload = true, env = {} } = {}) {
  const logFile = join(dir, `${service}.log`);
  const app = runFixture(file, {
    preload,
    env: {
      LOG_FILE: logFile,
      OTEL_SERVICE_NAME: service,
      OTEL_LOG_LEVEL: 'debug',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_METRICS_EXPORTER: 'none',
      ...env,
    },
  });
  const port = await waitForPort(app);
  await httpGet(`http://127.0.0.1:${port}/log`);
  // process.exit() makes pino flush the transport and wait for its worker.
  await httpGet(`http://127.0.0.1:${port}/exit`);
  const { code } = await app.exited;
  assert.equal(code, 0, app.stderr());
  const records = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const spans = await receiver.waitForSpans((all) => all.some((s) => s.resource['service.name'] === service && s.kind === SERVER));
  return { stderr: app.stderr(), records, span: spans.find((s) => s.resource['service.name'] === service && s.kind === SERVER) };
}

function assertCorrelated({ records, span }) {
  const inside = records.find((r) => r.where === 'inside');
  assert.equal(inside.trace_id, span.traceId);
  assert.equal(inside.span_id, span.spanId);
  const outside = records.find((r) => r.where === 'outside');
  assert.equal(outside.trace_id, undefined);
  assert.equal(outside.span_id, undefined);
}

test('starts periscope once, not in the transport worker, and the file records carry the ids (CommonJS)', async () => {
  const run = await runTransportApp('fixtures/logs/pino-transport.cjs', 'pino-transport-cjs');
  assert.equal(run.stderr.match(STARTED)?.length, 1, run.stderr);
  // The worker inherited --import and ran the preload: it said why it stays off.
  assert.match(run.stderr, /staying off: pino transport worker \(thread-stream\)/);
  assertCorrelated(run);
});

test('stays off in the transport worker even with PERISCOPE_WORKER_THREADS=true', async () => {
  const run = await runTransportApp('fixtures/logs/pino-transport.cjs', 'pino-transport-workers', {
    env: { PERISCOPE_WORKER_THREADS: 'true' },
  });
  assert.equal(run.stderr.match(STARTED)?.length, 1, run.stderr);
  assert.match(run.stderr, /staying off: pino transport worker \(thread-stream\)/);
  assertCorrelated(run);
});

test('starts once with the preload in NODE_OPTIONS, which the worker also sees (ESM)', async () => {
  const run = await runTransportApp('fixtures/logs/pino-transport.mjs', 'pino-transport-esm', {
    preload: false,
    env: { NODE_OPTIONS: `--import ${REGISTER}`, PERISCOPE_WORKER_THREADS: 'true' },
  });
  assert.equal(run.stderr.match(STARTED)?.length, 1, run.stderr);
  assertCorrelated(run);
});
