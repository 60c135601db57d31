// The harness's handle on the load generator (load-worker.mjs), one process for the whole run,
// pinned to the core the servers are not on.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { start } from './procs.mjs';

const WORKER = fileURLToPath(new URL('./load-worker.mjs', import.meta.url));

/**
 * Whether the loader sleeps while it waits in an app's saturated phases (load-worker.mjs). The
 * proxy's upstream runs on the loader's core: a loader that never sleeps takes the CPU the
 * upstream needs, and the upstream, not the server, set the proxy's rate (run S: bare's server
 * core 85 % busy, § in the report).
 */
export function loaderSleeps(app) {
  return app === 'proxy';
}

export async function startLoad({ cpu }) {
  // Always the harness's own Node, so every configuration meets the same load generator.
  const proc = start('load', process.execPath, ['--max-semi-space-size=64', WORKER], { cpu });
  const lines = createInterface({ input: proc.child.stdout })[Symbol.asyncIterator]();
  const died = proc.exited.then(({ code, signal }) => {
    throw new Error(`load generator exited (${code ?? signal}): ${proc.stderr().slice(-2000)}`);
  });
  died.catch(() => {}); // raced below; its exit at stop() is expected
  return {
    pid: proc.pid,
    /** Runs one phase (see load-worker.mjs) and resolves with its result. */
    async phase(spec) {
      proc.child.stdin.write(`${JSON.stringify(spec)}\n`);
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`load phase did not finish: ${JSON.stringify(spec)}`)), (spec.seconds + 20) * 1000);
      });
      try {
        const { value, done } = await Promise.race([lines.next(), timeout, died]);
        if (done) throw new Error('load generator closed its output');
        const result = JSON.parse(value);
        if (result.error) throw new Error(`load phase failed: ${result.error}`);
        return result;
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      proc.child.stdin.end();
      await Promise.race([once(proc.child, 'exit'), new Promise((r) => setTimeout(r, 2000))]);
      await proc.stop(1000);
    },
  };
}
