// The package as users get it: `npm pack`, installed into an app from the npm cache, started in each
// documented form, its public API from CommonJS and ESM, an app with its own older @opentelemetry/api,
// and periscope loaded twice in every way that can happen.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { REGISTER, ROOT, TEST_NODE, httpGet, killAll, runFixture, waitForPort } from '../helpers/spawn.js';
import { attrs, startReceiver } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const CLIENT = 3;
const STARTUP_LINE = /started on Node/;

let receiver;
let tmp; // holds the tarball and the app it is installed into
let appDir;
let installedRegister;
let packedFiles;

// npm's own variables (set when this runs under `npm test`) would point npm back at this repo.
function npmEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !/^npm_config_(cache|userconfig|globalconfig|registry|cafile)$/i.test(key)) continue;
    if (key === 'NODE_OPTIONS' || key === 'NODE_TEST_CONTEXT') continue;
    env[key] = value;
  }
  return env;
}

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, env: npmEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

// runFixture always puts the repo's dist/register.js first on the command line; the installed forms
// need their own flags before the script, so those few runs spawn node here (same env rules).
const own = new Set();
function runNode(nodeArgs, { cwd, env = {} }) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(OTEL_|PERISCOPE_)/.test(k) && k !== 'NODE_OPTIONS' && k !== 'NODE_TEST_CONTEXT'),
  );
  const child = spawn(TEST_NODE, nodeArgs, { cwd, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c) => (err += c));
  let failed;
  const exited = new Promise((done) => {
    child.on('close', (code, signal) => done({ code, signal }));
    child.on('error', (e) => {
      failed = e;
      done({ code: null, signal: null, error: e });
    });
  });
  const proc = {
    stdout: () => out,
    stderr: () => err,
    async waitForLine(regex, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = out.split('\n').map((line) => regex.exec(line)).find(Boolean);
        if (m) return m;
        if (failed || child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
          throw new Error(`no ${regex} from node ${nodeArgs.join(' ')} (${failed ?? 'exited or timed out'})\n--- stdout ---\n${out}\n--- stderr ---\n${err}`);
        }
        await delay(20);
      }
    },
    kill() {
      if (!failed && child.exitCode === null && child.signalCode === null) child.kill();
      return exited;
    },
  };
  own.add(proc);
  return proc;
}


async function assertServerSpan(proc, service) {
  const port = await waitForPort(proc);
  const res = await httpGet(`http://127.0.0.1:${port}/installed`);
  assert.equal(res.body, 'ok');
  await receiver.waitForSpans(() => receiver.spansOf(service).some((s) => s.kind === SERVER));
  const span = receiver.spansOf(service).find((s) => s.kind === SERVER);
  assert.equal(attrs(span)['url.path'], '/installed');
  assert.equal(span.resource['telemetry.sdk.name'], 'periscope');
}

// node_modules/<name> and node_modules/@scope/<name> folders with a package.json, nested ones included.
function countPackages(nodeModules) {
  if (!existsSync(nodeModules)) return 0;
  let n = 0;
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dirs = entry.name.startsWith('@')
      ? readdirSync(join(nodeModules, entry.name), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(nodeModules, entry.name, d.name))
      : [join(nodeModules, entry.name)];
    for (const dir of dirs) {
      if (existsSync(join(dir, 'package.json'))) n++;
      n += countPackages(join(dir, 'node_modules'));
    }
  }
  return n;
}

before(async () => {
  receiver = await startReceiver();
  tmp = mkdtempSync(join(tmpdir(), 'periscope-pack-'));
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], ROOT));
  packedFiles = packed.files.map((f) => f.path);
  const tarball = join(tmp, packed.filename);
  appDir = join(tmp, 'app');
  mkdirSync(appDir);
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'pack-app', version: '1.0.0', private: true }));
  for (const f of ['app.cjs', 'api.cjs', 'api.mjs']) copyFileSync(join(ROOT, 'fixtures', 'packaging', f), join(appDir, f));
  const install = ['install', '--no-audit', '--no-fund', '--no-save', tarball];
  try {
    npm(['--offline', ...install], appDir);
  } catch (err) {
    // A cache that lacks a runtime dependency (npm ci skipped, cache cleaned): fetch what is missing.
    if (!/ENOTCACHED/.test(String(err.stderr))) throw err;
    npm(['--prefer-offline', ...install], appDir);
  }
  installedRegister = join(appDir, 'node_modules', 'periscope-agent', 'dist', 'register.js');
});

after(async () => {
  await killAll();
  await Promise.all([...own].map((p) => p.kill()));
  await receiver.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  test('contains dist/ and the package.json, and no sources, tests or fixtures', () => {
    for (const f of ['package.json', 'dist/register.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/package.json']) {
      assert.ok(packedFiles.includes(f), `${f} is packed`);
    }
    const isSource = (f) => f.endsWith('.ts') && !f.endsWith('.d.ts');
    const stray = packedFiles.filter((f) => /^(src|test|fixtures|scripts|benchmarks|node_modules)\//.test(f) || isSource(f));
    assert.deepEqual(stray, []);
  });

  test('installs offline with at most 15 packages, itself included', () => {
    assert.ok(existsSync(installedRegister), 'periscope-agent/dist/register.js is installed');
    const n = countPackages(join(appDir, 'node_modules'));
    assert.ok(n <= 15, `${n} packages installed`);
  });
});

describe('start-up forms of the installed package', () => {
  test('node --import periscope-agent/register app.cjs exports a server span', async () => {
    const app = runNode(['--import', 'periscope-agent/register', 'app.cjs'], { cwd: appDir, env: receiver.exportEnv('form-installed') });
    await assertServerSpan(app, 'form-installed');
  });

  test('node --import /abs/node_modules/periscope-agent/dist/register.js app.cjs exports a server span', async () => {
    const app = runNode(['--import', installedRegister, join(appDir, 'app.cjs')], { cwd: tmp, env: receiver.exportEnv('form-container') });
    await assertServerSpan(app, 'form-container');
  });

  test('NODE_OPTIONS="--import periscope-agent/register" node app.cjs exports a server span', async () => {
    const app = runFixture(join(appDir, 'app.cjs'), {
      preload: false,
      cwd: appDir,
      env: { ...receiver.exportEnv('form-node-options'), NODE_OPTIONS: '--import periscope-agent/register' },
    });
    await assertServerSpan(app, 'form-node-options');
  });
});

describe('the public API without the preload', () => {
  for (const file of ['api.cjs', 'api.mjs']) {
    test(`${file}: start() traces requests and shutdown() flushes them before it resolves`, async () => {
      const service = `public-${file.replace('.', '-')}`;
      // A batch delay far beyond the test: only shutdown() can make the span leave.
      const env = { ...receiver.exportEnv(service), OTEL_BSP_SCHEDULE_DELAY: '600000' };
      const app = runFixture(join(appDir, file), { preload: false, cwd: appDir, env });
      const port = await waitForPort(app);
      assert.equal((await httpGet(`http://127.0.0.1:${port}/traced`)).body, 'ok');
      await delay(300);
      assert.equal(receiver.spansOf(service).length, 0, 'nothing is exported before shutdown()');
      assert.equal((await httpGet(`http://127.0.0.1:${port}/shutdown`)).body, 'flushed');
      const traced = receiver.spansOf(service).filter((s) => attrs(s)['url.path'] === '/traced');
      assert.equal(traced.length, 1, 'the span is at the collector once shutdown() resolved');
      assert.equal(traced[0].kind, SERVER);
    });
  }
});

test("nests spans made through the app's own older @opentelemetry/api (1.4.1) under periscope's server span", async () => {
  const app = runFixture('fixtures/api-old/app.cjs', { env: receiver.exportEnv('api-old') });
  const port = await waitForPort(app);
  const made = JSON.parse((await httpGet(`http://127.0.0.1:${port}/old`)).body);
  assert.equal(made.apiVersion, '1.4.1');
  const spans = await receiver.waitForSpans(() => receiver.spansOf('api-old').some((s) => s.name === 'old-api-work'));
  const manual = spans.find((s) => s.name === 'old-api-work');
  const server = spans.find((s) => s.kind === SERVER && s.traceId === manual.traceId);
  assert.ok(server, 'a server span in the same trace');
  assert.equal(manual.spanId, made.spanId);
  assert.equal(manual.parentSpanId, server.spanId);
  assert.equal(manual.scope.name, 'old-api-app');
});

describe('loading periscope twice', () => {
  // /call makes one http.request back to /hello: one CLIENT and two SERVER spans, whatever got loaded twice.
  async function assertOneSpanEach(app, service, paths = ['/call']) {
    const port = await waitForPort(app);
    for (const path of paths) {
      const target = `http://127.0.0.1:${port}/hello?via=${path.slice(1)}`;
      const res = await httpGet(`http://127.0.0.1:${port}${path}?url=${encodeURIComponent(target)}`);
      assert.equal(res.body, 'hello');
    }
    const want = 3 * paths.length;
    await receiver.waitForSpans(() => receiver.spansOf(service).length >= want);
    await delay(400); // a duplicate would come in the same or the next batch
    const spans = receiver.spansOf(service);
    assert.equal(spans.filter((s) => s.kind === SERVER).length, 2 * paths.length, 'one SERVER span per request');
    assert.equal(spans.filter((s) => s.kind === CLIENT).length, paths.length, 'one CLIENT span per outgoing call');
    assert.equal(spans.length, want);
  }

  const debugEnv = (service) => ({ ...receiver.exportEnv(service), OTEL_LOG_LEVEL: 'debug' });
  const startupLines = (app) => app.stderr().split('\n').filter((l) => STARTUP_LINE.test(l));
  const secondStarts = (app) => app.stderr().split('\n').filter((l) => /already started/.test(l));

  test('--import of the same register file by path and by file URL starts once', async () => {
    const app = runFixture('fixtures/styles/cjs.cjs', { env: { ...debugEnv('twice-same-file'), NODE_OPTIONS: `--import ${REGISTER}` } });
    await assertOneSpanEach(app, 'twice-same-file');
    assert.equal(startupLines(app).length, 1, app.stderr());
  });

  test('--import of register.js under two URLs (a second module instance) starts once', async () => {
    const again = `${pathToFileURL(REGISTER).href}?again`;
    const app = runFixture('fixtures/styles/cjs.cjs', { env: { ...debugEnv('twice-two-urls'), NODE_OPTIONS: `--import ${again}` } });
    await assertOneSpanEach(app, 'twice-two-urls');
    assert.equal(startupLines(app).length, 1, app.stderr());
    assert.equal(secondStarts(app).length, 1, 'the second copy ran and found the first');
  });

  test('two copies of the package (the installed tarball and this repo) both --imported start once', async () => {
    const app = runFixture('fixtures/styles/cjs.cjs', {
      env: { ...debugEnv('twice-two-copies'), NODE_OPTIONS: `--import ${installedRegister}` },
    });
    await assertOneSpanEach(app, 'twice-two-copies');
    assert.equal(startupLines(app).length, 1, app.stderr());
  });

  test('an app reaching node:http through both require() and import gets one span per request', async () => {
    const app = runFixture('fixtures/double/http-both.mjs', { env: receiver.exportEnv('twice-http-both') });
    await assertOneSpanEach(app, 'twice-http-both', ['/call', '/get']);
  });
});
