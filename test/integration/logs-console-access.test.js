// console correlation (PERISCOPE_CONSOLE_CORRELATION) and the access log (PERISCOPE_ACCESS_LOG):
// both off by default with output unchanged; when on, their ids are the exported spans' ids.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpGet, killAll, runFixture, waitForPort } from '../helpers/spawn.js';
import { attrs, startReceiver } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const FIXTURE = 'fixtures/logs/console-access.cjs';

let receiver;
let dir;
before(async () => {
  receiver = await startReceiver();
  dir = mkdtempSync(join(tmpdir(), 'periscope-access-'));
});
after(async () => {
  await killAll();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the fixture, sends `paths` one after another, then ends it through /exit. */
async function run(service, paths, { preload = true, env = {} } = {}) {
  const app = runFixture(FIXTURE, {
    preload,
    env: { OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', ...env },
  });
  const base = `http://127.0.0.1:${await waitForPort(app)}`;
  for (const p of paths) await httpGet(base + p, { headers: p.includes('forwarded') ? { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' } : {} });
  await httpGet(`${base}/exit`);
  const { code } = await app.exited;
  assert.equal(code, 0, app.stderr());
  const unported = (s) => s.replace(/^listening \d+$/m, 'listening N');
  return { stdout: unported(app.stdout()), stderr: app.stderr() };
}

const serverSpans = (service) => receiver.spans().filter((s) => s.resource['service.name'] === service && s.kind === SERVER);
async function spanFor(service, path) {
  await receiver.waitForSpans(() => serverSpans(service).some((s) => attrs(s)['url.path'] === path));
  return serverSpans(service).find((s) => attrs(s)['url.path'] === path);
}

describe('console', () => {
  test('prints exactly what it prints without periscope when neither option is set', async () => {
    const [withAgent, without] = await Promise.all([run('console-off', ['/say']), run('console-plain', ['/say'], { preload: false })]);
    assert.equal(withAgent.stdout, without.stdout);
    assert.equal(withAgent.stderr, without.stderr);
  });

  test("ends lines logged inside a span with that span's trace_id and span_id when asked to", async () => {
    const service = 'console-on';
    const [withAgent, without] = await Promise.all([
      run(service, ['/say'], { env: { PERISCOPE_CONSOLE_CORRELATION: 'true' } }),
      run('console-plain-2', ['/say'], { preload: false }),
    ]);
    const span = await spanFor(service, '/say');
    const suffix = ` trace_id=${span.traceId} span_id=${span.spanId}`;
    const expected = (text) =>
      text
        .split('\n')
        .map((l) => (/inside/.test(l) ? l + suffix : l))
        .join('\n');
    assert.equal(withAgent.stdout, expected(without.stdout));
    assert.ok(withAgent.stdout.includes(`cart-inside has 3 items${suffix}\n`));
    assert.ok(withAgent.stdout.includes(`one-inside and %s${suffix}\n`), 'a format string never swallows the suffix');
    assert.ok(withAgent.stdout.includes('100% sure outside\n'));
    assert.equal(withAgent.stderr, expected(without.stderr));
  });
});

describe('access log', () => {
  const ignore = { PERISCOPE_IGNORE_PATHS: '/health,/exit', PERISCOPE_ROUTES: '/users/:id' };
  const accessLines = (text) => text.split('\n').filter((l) => l.includes('"duration_ms"')).map((l) => JSON.parse(l));

  test("writes one JSON line per finished request to a file, with the server span's ids", async () => {
    const service = 'access-file';
    const file = join(dir, 'access.log');
    const paths = ['/', '/users/42?token=secret', '/chunked', '/error', '/forwarded', '/health'];
    await run(service, paths, { env: { PERISCOPE_ACCESS_LOG: file, ...ignore } });
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    const entries = lines.map((l) => JSON.parse(l));
    assert.deepEqual(entries.map((e) => e.path), ['/', '/users/42', '/chunked', '/error', '/forwarded'], 'no query, no ignored path');
    for (const e of entries) {
      assert.deepEqual(Object.keys(e), ['time', 'method', 'route', 'path', 'status', 'duration_ms', 'bytes', 'client_address', 'trace_id', 'span_id', 'trace_flags']);
      assert.equal(e.method, 'GET');
      assert.ok(Math.abs(Date.parse(e.time) - Date.now()) < 60_000, e.time);
      assert.ok(e.duration_ms >= 0);
      const span = await spanFor(service, e.path);
      assert.equal(e.trace_id, span.traceId);
      assert.equal(e.span_id, span.spanId);
      assert.equal(e.trace_flags, (span.flags & 0xff).toString(16).padStart(2, '0'));
      assert.equal(e.status, attrs(span)['http.response.status_code']);
    }
    const [root, user, chunked, error, forwarded] = entries;
    assert.deepEqual([root.route, root.status, root.bytes, root.client_address], [null, 200, 5, '127.0.0.1']);
    assert.deepEqual([user.route, user.bytes], ['/users/:id', 7]);
    assert.equal(chunked.bytes, null, 'a chunked body has no declared length');
    assert.ok(chunked.duration_ms >= 4, 'the duration covers the whole response');
    assert.equal(error.status, 500);
    assert.equal(forwarded.client_address, '203.0.113.9', 'the first X-Forwarded-For hop, as client.address');
  });

  test("goes to stdout between the app's own lines without cutting into them", async () => {
    const app = runFixture(FIXTURE, { env: { PERISCOPE_ACCESS_LOG: 'stdout', OTEL_TRACES_EXPORTER: 'none', ...ignore } });
    const base = `http://127.0.0.1:${await waitForPort(app)}`;
    const N = 200;
    for (let i = 0; i < N; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => httpGet(`${base}/say`)));
    }
    await httpGet(`${base}/exit`);
    await app.exited;
    const lines = app.stdout().trimEnd().split('\n');
    const app6 = /^(cart-(in|out)side has 3 items|\{ where: '(in|out)side', nested: \{ a: 1 \} \}|100% sure (in|out)side|one-(in|out)side and %s|info (in|out)side|listening \d+)$/;
    const strays = lines.filter((l) => !app6.test(l) && !l.startsWith('{"time":'));
    assert.deepEqual(strays, []);
    assert.equal(accessLines(app.stdout()).length, N);
    assert.equal(lines.filter((l) => l.startsWith('cart-inside')).length, N);
  });

  test('goes to stderr when asked, and nowhere by default', async () => {
    const [toStderr, off] = await Promise.all([
      run('access-stderr', ['/'], { env: { PERISCOPE_ACCESS_LOG: 'stderr', ...ignore } }),
      run('access-off', ['/'], { env: ignore }),
    ]);
    assert.equal(accessLines(toStderr.stderr).length, 1);
    assert.equal(accessLines(toStderr.stdout).length, 0);
    assert.equal(accessLines(off.stdout + off.stderr).length, 0);
  });

  test('warns once with PERISCOPE_W010 and serves as usual when the file cannot be opened', async () => {
    const { stdout, stderr } = await run('access-bad', ['/', '/'], {
      env: { PERISCOPE_ACCESS_LOG: join(dir, 'missing-dir', 'access.log') },
    });
    assert.match(stdout, /listening N/);
    assert.equal(stderr.match(/PERISCOPE_W010/g)?.length, 1, stderr);
    assert.match(stderr, /cannot open .*missing-dir.*ENOENT/);
  });
});
