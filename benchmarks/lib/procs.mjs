// Every process the harness starts goes through here, so that all of them, and only them, are
// killed when the harness ends, however it ends (normal exit, an error, SIGINT, SIGTERM).
import { spawn } from 'node:child_process';

const live = new Map(); // pid -> name

function killAll() {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (live.size > 0) process.stderr.write(`\nbench: ${signal}, stopping every process it started\n`);
    killAll();
    process.exit(130);
  });
}

/** The pids of the processes started here that are still running. */
export function livePids() {
  return [...live.keys()];
}

/**
 * Starts `cmd args` (pinned to `cpu` with taskset when given; taskset execs, so the pid is the
 * program's own). Returns the child with helpers to wait for a line of its output and to stop it.
 */
export function start(name, cmd, args, { cpu, env, cwd } = {}) {
  const child = cpu === undefined ? spawn(cmd, args, { env, cwd }) : spawn('taskset', ['-c', String(cpu), cmd, ...args], { env, cwd });
  live.set(child.pid, name);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err = (err + d).slice(-20_000)));
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child.pid);
      resolve({ code, signal });
    });
  });
  child.on('error', () => live.delete(child.pid));

  return {
    name,
    pid: child.pid,
    child,
    exited,
    stderr: () => err,
    /** Resolves with the first match of `re` in stdout (or stderr), or rejects on exit or timeout. */
    waitFor(re, { stream = 'stdout', timeoutMs = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const text = () => (stream === 'stdout' ? out : err);
        const check = () => {
          const m = re.exec(text());
          if (m) done(null, m);
        };
        const timer = setTimeout(() => done(new Error(`${name}: no ${re} on ${stream} within ${timeoutMs} ms\n${err.slice(-2000)}`)), timeoutMs);
        const onExit = () => done(new Error(`${name} exited before printing ${re}\n${err.slice(-2000)}`));
        const done = (e, m) => {
          clearTimeout(timer);
          child[stream].off('data', check);
          child.off('exit', onExit);
          if (e) reject(e);
          else resolve(m);
        };
        child[stream].on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
    /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it exited. */
    async stop(graceMs = 4000) {
      if (!live.has(child.pid)) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => live.has(child.pid) && child.kill('SIGKILL'), graceMs);
      const how = await exited;
      clearTimeout(timer);
      return how;
    },
  };
}
