// An app bundled by esbuild with express inlined cannot be hooked: it keeps working, its server
// spans have no routes, and periscope says so once (PERISCOPE_W011) with the workaround. Built
// with express marked external, the same app gets its routes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { ROOT, killAll, runFixture, waitForPort } from '../helpers/spawn.js';
import { attrs, startReceiver } from '../helpers/otlp-receiver.js';
import { EXPRESS_REQUESTS, FRAMEWORKS, describeFixture, exchange, notInstalled } from '../helpers/frameworks.js';

const dir = join(FRAMEWORKS, 'express5');
const out = join(dir, 'build'); // git-ignored
const skip = notInstalled('express5');
const bundle = (name) => relative(ROOT, join(out, name));

function build(name, options) {
  const esbuild = createRequire(join(dir, 'package.json'))('esbuild');
  esbuild.buildSync({ entryPoints: [join(dir, 'app.cjs')], bundle: true, platform: 'node', format: 'cjs', outfile: join(out, name), logLevel: 'error', ...options });
}

if (!skip) {
  mkdirSync(out, { recursive: true });
  build('inlined.cjs', {});
  build('inlined.min.cjs', { minify: true });
  build('external.cjs', { external: ['express'] });
}

after(() => killAll());

for (const name of ['inlined.cjs', 'inlined.min.cjs']) {
  describe(`an esbuild bundle with express inlined (${name})`, { skip }, () => {
    let receiver;
    let app;
    before(async () => {
      receiver = await startReceiver();
    });
    after(() => receiver?.close());

    test('answers as without the preload, and warns once that its frameworks cannot be hooked', async () => {
      const env = { NODE_ENV: 'production' };
      const plain = runFixture(bundle(name), { preload: false, env });
      app = runFixture(bundle(name), { env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: name } });
      const [plainPort, port] = await Promise.all([waitForPort(plain), waitForPort(app)]);
      for (const r of EXPRESS_REQUESTS) assert.deepEqual(await exchange(port, r), await exchange(plainPort, r), `${r.method} ${r.path}`);
      const deadline = Date.now() + 5000;
      while (!/PERISCOPE_W011/.test(app.stderr()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const lines = app.stderr().split('\n').filter((l) => l.includes('PERISCOPE_W011'));
      assert.equal(lines.length, 1, app.stderr());
      assert.match(lines[0], new RegExp(`${name.replace('.', '\\.')} is a bundle with express inlined`));
      assert.match(lines[0], /--external:express/);
    });

    test('still traces every request, without routes', async () => {
      const spans = await receiver.waitForSpans((all) => all.filter((s) => s.kind === 2).length >= EXPRESS_REQUESTS.length);
      for (const s of spans.filter((x) => x.kind === 2)) assert.equal(attrs(s)['http.route'], undefined);
    });
  });
}

describeFixture('an esbuild bundle with express marked external', { file: bundle('external.cjs'), requests: EXPRESS_REQUESTS, skip });

test('does not warn about a bundle whose frameworks are external', { skip }, async () => {
  const app = runFixture(bundle('external.cjs'), { env: { OTEL_TRACES_EXPORTER: 'none' } });
  const port = await waitForPort(app);
  await exchange(port, EXPRESS_REQUESTS[0]);
  await new Promise((r) => setTimeout(r, 200));
  assert.doesNotMatch(app.stderr(), /PERISCOPE_W011/);
});
