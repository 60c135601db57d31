// A real Prometheus (Debian's package) for the suites that need one: started on a free
// 127.0.0.1 port with the given config text, polled until ready, stopped in `after`.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { httpGet } from './spawn.js';

// Prometheus cannot report a port it picked itself, so take a free one from the kernel first.
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Poll `fn` until it returns something truthy; throw with the last result after `timeoutMs`. */
export async function until(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Starts Prometheus with data under `dir`; `configFor(port)` returns its prometheus.yml text (a
 * config that scrapes Prometheus itself needs the port first).
 */
export async function startPrometheus(dir, configFor) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'prometheus.yml'), configFor(port));
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--enable-feature=exemplar-storage',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr.resume();
  await until('prometheus to be ready', async () => (await httpGet(`${url}/-/ready`)).status === 200);

  /** `data` of a successful API answer; throws with the body otherwise. */
  async function api(path) {
    const res = await httpGet(`${url}/api/v1/${path}`);
    const body = JSON.parse(res.body);
    if (body.status !== 'success') throw new Error(`${path}: ${res.body}`);
    return body.data;
  }

  return {
    url,
    api,
    /** The `data` of an instant query. */
    query: (expr) => api(`query?query=${encodeURIComponent(expr)}`),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
