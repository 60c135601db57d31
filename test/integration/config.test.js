// Environment configuration as a process sees it: switching off, bad values, the debug line, stdout
// left alone, instrumentations toggled by name, ignored paths.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { TEST_NODE, httpGet, killAll, runFixture, waitForPort } from '../helpers/spawn.js';
import { attrs, startReceiver } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const CLIENT = 3;
const PROBE = 'fixtures/config/probe.cjs';

let receiver;
before(async () => {
  receiver = await startReceiver();
});
after(async () => {
  await killAll();
  await receiver.close();
});

const periscopeLines = (text) => text.split('\n').filter((l) => l.startsWith('periscope: '));

async function probe(env) {
  const app = runFixture(PROBE, { args: ['--listen'], env });
  const m = await app.waitForLine(/^probe (\{.*\})$/);
  return { app, patched: JSON.parse(m[1]), port: await waitForPort(app) };
}

// Waits until `until` holds for the service's spans (when given), then a little longer, so that a
// span that should not exist has had every chance to arrive.
async function settle(service, until) {
  if (until !== undefined) await receiver.waitForSpans(() => until(receiver.spansOf(service)));
  await delay(400);
  return receiver.spansOf(service);
}

test('OTEL_SDK_DISABLED=true patches nothing, exports nothing and does not load the agent', async () => {
  const { app, patched, port } = await probe({ ...receiver.exportEnv('cfg-disabled'), OTEL_SDK_DISABLED: 'true' });
  assert.deepEqual(patched, { request: false, get: false, serverEmitPatched: false, agentLoaded: false });
  assert.equal((await httpGet(`http://127.0.0.1:${port}/hello`)).body, 'hello');
  const target = `http://127.0.0.1:${port}/hello`;
  assert.equal((await httpGet(`http://127.0.0.1:${port}/call?url=${encodeURIComponent(target)}`)).body, 'hello');
  assert.deepEqual(await settle('cfg-disabled'), []);
  assert.equal(periscopeLines(app.stderr()).length, 0, app.stderr());
});

test('a bad value warns once per variable, naming it and the value used, and the app still exports', async () => {
  const { app, patched, port } = await probe({
    ...receiver.exportEnv('cfg-bad-values'),
    OTEL_BSP_SCHEDULE_DELAY: 'soon',
    OTEL_TRACES_SAMPLER: 'sometimes',
    // The default 5 s batch delay is in force now; a batch of one leaves at once.
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1',
  });
  assert.equal(patched.request, true);
  await httpGet(`http://127.0.0.1:${port}/hello`);
  await receiver.waitForSpans(() => receiver.spansOf('cfg-bad-values').some((s) => s.kind === SERVER));
  const lines = periscopeLines(app.stderr());
  const delayLines = lines.filter((l) => l.includes('OTEL_BSP_SCHEDULE_DELAY'));
  const samplerLines = lines.filter((l) => l.includes('OTEL_TRACES_SAMPLER'));
  assert.equal(delayLines.length, 1, app.stderr());
  assert.match(delayLines[0], /PERISCOPE_W\d{3} .*"soon".*using 5000/);
  assert.equal(samplerLines.length, 1, app.stderr());
  assert.match(samplerLines[0], /PERISCOPE_W\d{3} .*"sometimes".*using parentbased_always_on/);
  assert.equal(lines.length, 2, app.stderr());
});

test('OTEL_EXPORTER_OTLP_PROTOCOL=grpc warns once and exports http/protobuf', async () => {
  const grpc = await startReceiver();
  try {
    const app = runFixture('fixtures/styles/cjs.cjs', {
      env: { ...receiver.exportEnv('cfg-grpc'), OTEL_EXPORTER_OTLP_ENDPOINT: grpc.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    });
    const port = await waitForPort(app);
    await httpGet(`http://127.0.0.1:${port}/hello`);
    await httpGet(`http://127.0.0.1:${port}/hello`);
    const spans = await grpc.waitForSpans(2);
    assert.ok(spans.every((s) => s.resource['service.name'] === 'cfg-grpc' && s.kind === SERVER));
    const posts = grpc.requests.filter((r) => r.path === '/v1/traces');
    assert.ok(posts.length > 0 && posts.every((r) => r.contentType === 'application/x-protobuf'));
    const lines = periscopeLines(app.stderr());
    assert.equal(lines.length, 1, app.stderr());
    assert.match(lines[0], /PERISCOPE_W002 .*grpc.*http\/protobuf/);
  } finally {
    await grpc.close();
  }
});

describe('what periscope writes', () => {
  test('OTEL_LOG_LEVEL=debug prints exactly one start-up line with version, Node, patches and config', async () => {
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
    const node = execFileSync(TEST_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    const { app } = await probe({ ...receiver.exportEnv('cfg-debug'), OTEL_LOG_LEVEL: 'debug' });
    const lines = app.stderr().split('\n').filter((l) => /started on Node/.test(l));
    assert.equal(lines.length, 1, app.stderr());
    const [line] = lines;
    assert.ok(line.startsWith('periscope: '), line);
    assert.ok(line.includes(`periscope-agent ${version}`), line);
    assert.ok(line.includes(`Node ${node}`), line);
    assert.match(line, /patched: .*http\.Server.*http\.request/);
    assert.match(line, /config: \{.*"serviceName":"cfg-debug"/);
  });

  test('never writes to stdout: the app prints the same bytes with and without the preload', async () => {
    const env = {
      ...receiver.exportEnv('cfg-stdout'),
      OTEL_LOG_LEVEL: 'debug',
      OTEL_TRACES_EXPORTER: 'otlp,console',
      OTEL_TRACES_SAMPLER: 'sometimes', // one more thing to say, on stderr
    };
    const withIt = runFixture('fixtures/config/quiet.cjs', { env });
    const without = runFixture('fixtures/config/quiet.cjs', { env, preload: false });
    const [a, b] = await Promise.all([withIt.exited, without.exited]);
    assert.equal(a.code, 0, withIt.stderr());
    assert.equal(b.code, 0, without.stderr());
    assert.match(without.stdout(), /^starting\nget: 200 hello from \/via-get\nfetch: 200 hello from \/via-fetch\n/);
    assert.equal(withIt.stdout(), without.stdout());
    // periscope did run: its debug line, a warning and the console tree went to stderr.
    assert.match(withIt.stderr(), /started on Node/);
    assert.match(withIt.stderr(), /OTEL_TRACES_SAMPLER/);
    assert.match(withIt.stderr(), /^trace [0-9a-f]{8} /m);
    assert.equal(without.stderr(), '');
    await receiver.waitForSpans(() => receiver.spansOf('cfg-stdout').length >= 3);
  });
});

describe('instrumentations by name', () => {
  // /call goes out through http.request, /fetch through fetch; both come back to /hello.
  async function callBoth(port) {
    const target = (via) => encodeURIComponent(`http://127.0.0.1:${port}/hello?via=${via}`);
    assert.equal((await httpGet(`http://127.0.0.1:${port}/call?url=${target('call')}`)).body, 'hello');
    assert.equal((await httpGet(`http://127.0.0.1:${port}/fetch?url=${target('fetch')}`)).body, 'hello');
  }

  for (const [name, value] of [
    ['OTEL_NODE_DISABLED_INSTRUMENTATIONS', 'http'],
    ['OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'undici'],
  ]) {
    test(`${name}=${value} leaves http uninstrumented and still traces fetch`, async () => {
      const service = `cfg-${name}`.toLowerCase();
      const { patched, port } = await probe({ ...receiver.exportEnv(service), [name]: value });
      assert.deepEqual(patched, { request: false, get: false, serverEmitPatched: false, agentLoaded: true });
      await callBoth(port);
      const spans = await settle(service, (all) => all.length >= 1);
      assert.equal(spans.length, 1, JSON.stringify(spans.map((s) => [s.kind, attrs(s)['url.full']])));
      assert.equal(spans[0].kind, CLIENT);
      assert.equal(attrs(spans[0])['url.full'], `http://127.0.0.1:${port}/hello?via=fetch`);
    });
  }

  test('OTEL_NODE_DISABLED_INSTRUMENTATIONS=undici keeps http spans and drops fetch spans', async () => {
    const service = 'cfg-no-undici';
    const { patched, port } = await probe({ ...receiver.exportEnv(service), OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'undici' });
    assert.equal(patched.request, true);
    await callBoth(port);
    // /call, its /hello, /fetch and its /hello as SERVER spans; one CLIENT span, for http.request.
    const spans = await settle(service, (all) => all.length >= 5);
    assert.equal(spans.filter((s) => s.kind === SERVER).length, 4);
    const clients = spans.filter((s) => s.kind === CLIENT);
    assert.deepEqual(clients.map((s) => attrs(s)['url.full']), [`http://127.0.0.1:${port}/hello?via=call`]);
  });
});

test('PERISCOPE_IGNORE_PATHS=/health*,/internal/** leaves those paths without spans', async () => {
  const service = 'cfg-ignore';
  const { port } = await probe({ ...receiver.exportEnv(service), PERISCOPE_IGNORE_PATHS: '/health*,/internal/**' });
  for (const path of ['/healthz', '/health', '/internal/a/b', '/healthz/deeper', '/hello']) {
    await httpGet(`http://127.0.0.1:${port}${path}?q=1`);
  }
  const spans = await settle(service, (all) => all.some((s) => attrs(s)['url.path'] === '/hello'));
  // `*` stays within one segment, so /healthz/deeper is traced.
  assert.deepEqual(spans.map((s) => attrs(s)['url.path']).sort(), ['/healthz/deeper', '/hello']);
});
