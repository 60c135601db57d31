// The integration helpers themselves, against fixtures/echo-env.cjs without the preload.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { httpGet, killAll, runFixture, waitForPort } from '../helpers/spawn.js';

after(() => killAll());

test('runFixture passes the given env and drops OTEL_, PERISCOPE_ and NODE_OPTIONS from the parent', async () => {
  process.env.OTEL_SERVICE_NAME = 'leaked';
  process.env.NODE_OPTIONS = '--no-warnings';
  try {
    const proc = runFixture('fixtures/echo-env.cjs', {
      preload: false,
      env: { PERISCOPE_ECHO: 'hello' },
      args: ['PERISCOPE_ECHO', 'OTEL_SERVICE_NAME', 'NODE_OPTIONS'],
    });
    const m = await proc.waitForLine(/^PERISCOPE_ECHO=(.*)$/);
    assert.equal(m[1], 'hello');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    assert.equal(proc.stdout(), 'PERISCOPE_ECHO=hello\nOTEL_SERVICE_NAME=\nNODE_OPTIONS=\n');
  } finally {
    delete process.env.OTEL_SERVICE_NAME;
    delete process.env.NODE_OPTIONS;
  }
});

test('waitForLine rejects when the child exits without printing the line', async () => {
  const proc = runFixture('fixtures/echo-env.cjs', { preload: false, args: ['HOME'] });
  await assert.rejects(proc.waitForLine(/^never$/), /exited/);
});

test('waitForPort and httpGet reach a server fixture, and killAll ends it', async () => {
  const proc = runFixture('fixtures/echo-env.cjs', { preload: false, env: { ECHO_ME: 'served' }, args: ['ECHO_ME', '--listen'] });
  const port = await waitForPort(proc);
  const res = await httpGet(`http://127.0.0.1:${port}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/plain');
  assert.equal(res.body, 'ECHO_ME=served\n');
  await killAll();
  assert.equal((await proc.exited).signal, 'SIGTERM');
});
