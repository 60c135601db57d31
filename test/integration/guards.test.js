// Where periscope must stay off although its preload runs: package managers that NODE_OPTIONS leaks
// into, worker threads (unless asked), and processes where another tracer provider came first.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { REGISTER, ROOT, httpGet, killAll, runFixture, waitForPort } from '../helpers/spawn.js';
import { attrs, startReceiver } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const CLIENT = 3;
const STARTUP_LINE = /started on Node/;
// How a container image sets it: every node process started in it gets the preload.
const NODE_OPTIONS = `--import ${REGISTER}`;

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(async () => {
  await killAll();
  await receiver.close();
});


describe('package managers reached by NODE_OPTIONS', () => {
  const quietEnv = { NODE_OPTIONS, OTEL_LOG_LEVEL: 'debug', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' };

  for (const file of [
    'fixtures/tooling/npm/bin/npm-cli.js',
    'fixtures/tooling/npm/bin/npx-cli.js',
    'fixtures/tooling/yarn/bin/yarn.js',
    'fixtures/tooling/pnpm/bin/pnpm.cjs',
    'fixtures/tooling/corepack/dist/corepack.js',
    'fixtures/tooling/.yarn/releases/yarn-4.5.0.cjs',
    'fixtures/tooling/node-gyp/bin/node-gyp.js',
  ]) {
    test(`leaves ${file.replace('fixtures/tooling/', '')} unpatched, without loading the agent`, async () => {
      const proc = runFixture(file, { preload: false, env: quietEnv });
      const { code } = await proc.exited;
      assert.equal(code, 0, proc.stderr());
      assert.equal(proc.stdout(), 'wrapped false agent false\n');
      assert.doesNotMatch(proc.stderr(), STARTUP_LINE);
      assert.match(proc.stderr(), /staying off: package-manager process/);
    });
  }

  test('patches an ordinary script run the same way (the control)', async () => {
    const proc = runFixture('fixtures/tooling/app.js', { preload: false, env: quietEnv });
    await proc.exited;
    assert.equal(proc.stdout(), 'wrapped true agent true\n');
    assert.match(proc.stderr(), STARTUP_LINE);
  });

  test('prints no start-up line from a real `npm --version`', async (t) => {
    const npmBin = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'npm')).find((p) => p !== 'npm' && existsSync(p));
    const npmCli = npmBin && realpathSync(npmBin);
    if (!npmCli || !npmCli.endsWith('.js')) {
      t.skip(`no npm-cli.js found behind ${npmBin ?? 'npm on PATH'}`);
      return;
    }
    const proc = runFixture(npmCli, { preload: false, args: ['--version'], env: quietEnv });
    const { code } = await proc.exited;
    assert.equal(code, 0, proc.stderr());
    assert.match(proc.stdout(), /^\d+\.\d+\.\d+\n$/);
    assert.doesNotMatch(proc.stderr(), STARTUP_LINE);
    assert.match(proc.stderr(), /staying off: package-manager process/);
  });
});

describe('worker threads', () => {
  async function runWorkerApp(service, extra) {
    const app = runFixture('fixtures/workers/app.cjs', { env: { ...receiver.exportEnv(service), OTEL_LOG_LEVEL: 'debug', ...extra } });
    await waitForPort(app);
    const m = await app.waitForLine(/^worker (.*)$/);
    // The main thread's server span for the worker's call proves the pipeline works either way.
    await receiver.waitForSpans(() => receiver.spansOf(service).some((s) => s.kind === SERVER && attrs(s)['url.path'] === '/from-worker'));
    return { app, report: m[1] };
  }

  test('are left uninstrumented by default, without loading the agent, and the debug line says why', async () => {
    const { app, report } = await runWorkerApp('guard-worker-off', {});
    assert.equal(report, 'got 200 wrapped=false agent=false');
    await delay(400);
    assert.deepEqual(receiver.spansOf('guard-worker-off').filter((s) => s.kind === CLIENT), []);
    assert.match(app.stderr(), /staying off: worker thread.*PERISCOPE_WORKER_THREADS=true/);
    assert.equal(app.stderr().split('\n').filter((l) => STARTUP_LINE.test(l)).length, 1, 'only the main thread started');
  });

  test('are instrumented with PERISCOPE_WORKER_THREADS=true: the worker exports its CLIENT span', async () => {
    const service = 'guard-worker-on';
    const { report } = await runWorkerApp(service, { PERISCOPE_WORKER_THREADS: 'true' });
    assert.equal(report, 'got 200 wrapped=true agent=true');
    const spans = await receiver.waitForSpans(() => receiver.spansOf(service).some((s) => s.kind === CLIENT));
    const client = spans.find((s) => s.kind === CLIENT && s.resource['service.name'] === service);
    assert.match(attrs(client)['url.full'], /\/from-worker$/);
    const server = receiver.spansOf(service).find((s) => s.kind === SERVER);
    assert.equal(server.parentSpanId, client.spanId, "the main thread's server span continues the worker's trace");
    assert.equal(server.traceId, client.traceId);
  });
});

test('stays off with one PERISCOPE_W003 warning when another tracer provider was preloaded first', async () => {
  const service = 'guard-other-agent';
  const app = runFixture('fixtures/config/probe.cjs', {
    args: ['--listen'],
    // NODE_OPTIONS comes before the command line: --import other-agent, then --import periscope.
    env: { ...receiver.exportEnv(service), NODE_OPTIONS: `--import ${join(ROOT, 'fixtures', 'other-agent', 'preload.mjs')}` },
  });
  const m = await app.waitForLine(/^probe (\{.*\})$/);
  // Found when the agent registers its tracer provider: loaded, then off.
  assert.deepEqual(JSON.parse(m[1]), { request: false, get: false, serverEmitPatched: false, agentLoaded: true });
  const port = await waitForPort(app);
  assert.equal((await httpGet(`http://127.0.0.1:${port}/hello`)).body, 'hello');
  await delay(400);
  assert.deepEqual(receiver.spansOf(service), []);
  const warnings = app.stderr().split('\n').filter((l) => l.includes('PERISCOPE_W003'));
  assert.equal(warnings.length, 1, app.stderr());
  assert.match(warnings[0], /tracer provider/);
});
