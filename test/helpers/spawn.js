// Runs fixture apps as child processes, the way users run periscope: `node --import periscope-agent/register app`.
// The test process itself is never instrumented; it only spawns, waits for output and sends plain HTTP.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REGISTER = resolve(ROOT, 'dist', 'register.js');

// The Node binary for children: the matrix sets PERISCOPE_TEST_NODE to another version (scripts/test.mjs --node).
// Resolved now, so a relative path keeps working when a child runs in another cwd.
export const TEST_NODE = process.env.PERISCOPE_TEST_NODE ? resolve(process.env.PERISCOPE_TEST_NODE) : process.execPath;

const DEFAULT_TIMEOUT_MS = 10_000;
const children = new Set();

// The developer's own OTEL_*/PERISCOPE_*/NODE_OPTIONS must not leak into a fixture. NODE_TEST_CONTEXT is set by
// `node --test` in each test file's process and would make a child that uses node:test report to our runner.
function cleanEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(OTEL_|PERISCOPE_)/.test(key) || key === 'NODE_OPTIONS' || key === 'NODE_TEST_CONTEXT') continue;
    env[key] = value;
  }
  // Fixtures never fight over the default metrics port 9464 nor listen beyond loopback; a test
  // that cares about the port sets its own.
  return { OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_EXPORTER_PROMETHEUS_PORT: '0', ...env, ...extra };
}

export function runFixture(file, { env = {}, args = [], cwd = ROOT, preload = true } = {}) {
  const script = resolve(ROOT, file);
  const nodeArgs = preload ? ['--import', pathToFileURL(REGISTER).href, script, ...args] : [script, ...args];
  const child = spawn(TEST_NODE, nodeArgs, { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });

  let out = '';
  let err = '';
  let scanned = 0; // complete stdout lines already offered to waiters
  const lines = [];
  const waiters = new Set();

  const offer = () => {
    for (const w of waiters) {
      for (let i = w.from; i < lines.length; i++) {
        const m = w.regex.exec(lines[i]);
        if (m) {
          w.done(m);
          break;
        }
      }
      w.from = lines.length;
    }
  };

  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    out += chunk;
    const parts = out.slice(scanned).split('\n');
    parts.pop(); // the unfinished last line waits for its newline
    for (const p of parts) {
      lines.push(p.endsWith('\r') ? p.slice(0, -1) : p);
      scanned += p.length + 1;
    }
    offer();
  });
  child.stderr.on('data', (chunk) => {
    err += chunk;
  });

  let spawnError = null;
  const exited = new Promise((done) => {
    // 'close' (not 'exit') so that stdout() and stderr() are complete once this resolves.
    child.on('close', (code, signal) => {
      for (const w of waiters) w.fail(new Error(`${file} exited (${signal ?? code}) before printing ${w.regex}`));
      done({ code, signal });
    });
    child.on('error', (e) => {
      spawnError = e;
      for (const w of waiters) w.fail(e);
      done({ code: null, signal: null, error: e });
    });
  });

  const tail = () => `\n--- stdout ---\n${out.slice(-2000)}\n--- stderr ---\n${err.slice(-2000)}`;

  function waitForLine(regex, timeoutMs = DEFAULT_TIMEOUT_MS) {
    return new Promise((resolveLine, rejectLine) => {
      const w = {
        regex,
        from: 0,
        done: (m) => settle(() => resolveLine(m)),
        fail: (e) => settle(() => rejectLine(new Error(`${e.message}${tail()}`))),
      };
      const timer = setTimeout(() => w.fail(new Error(`timed out after ${timeoutMs}ms waiting for ${regex} from ${file}`)), timeoutMs);
      function settle(fn) {
        if (!waiters.delete(w)) return;
        clearTimeout(timer);
        fn();
      }
      waiters.add(w);
      offer();
      if (waiters.has(w) && (spawnError || child.exitCode !== null || child.signalCode !== null)) {
        w.fail(spawnError ?? new Error(`${file} already exited before printing ${regex}`));
      }
    });
  }

  const running = () => child.exitCode === null && child.signalCode === null && !spawnError;

  function kill(signal = 'SIGTERM') {
    if (running()) child.kill(signal);
    return exited;
  }

  const proc = { child, stdout: () => out, stderr: () => err, waitForLine, exited, kill, running };
  children.add(proc);
  exited.then(() => children.delete(proc));
  return proc;
}

// A server fixture prints `listening <port>` once it listens on 127.0.0.1, port 0.
export async function waitForPort(proc, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const m = await proc.waitForLine(/^listening (\d+)$/, timeoutMs);
  return Number(m[1]);
}

// Ends every child still running; call it in after(). SIGKILL for any that ignore SIGTERM.
export async function killAll(graceMs = 2000) {
  await Promise.all(
    [...children].map(async (proc) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await proc.kill('SIGTERM');
      clearTimeout(timer);
    }),
  );
}

// Plain node:http from the test process. agent: false gives each request its own connection, so no keep-alive
// socket outlives the test or reaches the fixture twice.
export function httpRequest(url, { method = 'GET', headers = {}, body, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  return new Promise((resolveRes, rejectRes) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolveRes({ status: res.statusCode, headers: res.headers, body: text }));
      res.on('error', rejectRes);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs}ms`)));
    req.on('error', rejectRes);
    req.end(body);
  });
}

export function httpGet(url, { headers = {}, timeoutMs } = {}) {
  return httpRequest(url, { headers, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}
