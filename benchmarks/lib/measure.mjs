// What the harness reads off the machine: a process's CPU time and RSS from /proc, start-up time,
// the installed footprint of the packed package, and what machine this is.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { livePids } from './procs.mjs';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime and stime in seconds from a /proc stat file (fields 14 and 15, after the `(comm)`). */
function statSeconds(file) {
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
}

/** utime + stime of `pid` in seconds, all its threads. */
export function cpuSeconds(pid) {
  const { user, system } = statSeconds(`/proc/${pid}/stat`);
  return user + system;
}

/**
 * `pid`'s CPU seconds by thread: { mainUser, mainSystem, others }, others being every other thread
 * (V8's GC and compiler workers, libuv's pool), from /proc/<pid>/task/<tid>/stat. Tells the
 * request path's own thread from the collector's helpers, and JavaScript from the kernel.
 */
export function threadCpuSeconds(pid) {
  const out = { mainUser: 0, mainSystem: 0, others: 0 };
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let user;
    let system;
    try {
      ({ user, system } = statSeconds(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      continue; // the thread ended between the listing and the read
    }
    if (tid === String(pid)) {
      out.mainUser = user;
      out.mainSystem = system;
    } else out.others += user + system;
  }
  return out;
}

/** Busy seconds (everything but idle and iowait, steal included) of each CPU and in all, from /proc/stat. */
export function machineBusySeconds() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d*) (.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, , , irq, softirq, steal] = m[2].trim().split(/\s+/).map(Number);
    out[m[1] === 'cpu' ? 'all' : m[1]] = (user + nice + system + irq + softirq + steal) / CLK_TCK;
  }
  return out;
}

function ownCpuSeconds() {
  const { user, system } = process.cpuUsage();
  let total = (user + system) / 1e6;
  for (const pid of livePids()) {
    try {
      total += cpuSeconds(pid);
    } catch {
      // exited in between
    }
  }
  return total;
}

/**
 * Starts measuring the CPU used by processes other than the harness and its children (other
 * people's builds and tests on this machine, hypervisor steal). The returned function gives the
 * averages in cores since the start: on the server's core (where only the server is ours) and in all.
 */
export function foreignLoad({ serverCpu, serverPid } = {}) {
  const core = `cpu${serverCpu}`;
  const snap = () => {
    const busy = machineBusySeconds();
    return { all: busy.all, core: busy[core] ?? 0, own: ownCpuSeconds(), server: serverPid ? cpuSeconds(serverPid) : 0, t: performance.now() };
  };
  const a = snap();
  return () => {
    const b = snap();
    const seconds = (b.t - a.t) / 1000;
    return {
      serverCore: serverPid ? (b.core - a.core - (b.server - a.server)) / seconds : null,
      all: (b.all - a.all - (b.own - a.own)) / seconds,
    };
  };
}

/**
 * Samples a third of a second at a time until other processes used less than `cores` in one, for
 * at most `maxMs`. Returns how long it waited beyond the first sample.
 */
export async function waitForQuiet({ cores, maxMs }) {
  const began = performance.now();
  for (;;) {
    const meter = foreignLoad();
    await sleep(333);
    const ms = performance.now() - began - 333;
    if (meter().all < cores || ms >= maxMs) return { ms };
  }
}

/** VmRSS of `pid` in MB. */
export function rssMB(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * `node [args] -e 0` as start-up is measured: a clean environment, the metrics port on port 0 on
 * loopback (a busy 9464 must not change the figure).
 */
export function startupCommand(nodeBin, config) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1' };
  return { argv: [nodeBin, ...(config?.args ?? []), '-e', '0'], env: { ...env, ...config?.env }, cwd: config?.cwd };
}

/**
 * Median wall time in ms of each command, run `runs` times in alternation on `cpu`, after one
 * discarded run each to warm the page cache. commands: { name: { argv: [bin, ...args], env, cwd } }.
 */
export function startupTimes(commands, { runs, cpu }) {
  const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let i = -1; i < runs; i++) {
    for (const [name, { argv, env, cwd }] of Object.entries(commands)) {
      const t0 = performance.now();
      const r = spawnSync('taskset', ['-c', String(cpu), ...argv], { env, cwd, encoding: 'utf8', timeout: 30_000 });
      const ms = performance.now() - t0;
      if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').slice(-1000)}`);
      if (i >= 0) times[name].push(ms);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

function countPackages(nodeModules) {
  let count = 0;
  if (!existsSync(nodeModules)) return 0;
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const dirs = entry.startsWith('@') ? readdirSync(join(nodeModules, entry)).map((s) => join(nodeModules, entry, s)) : [join(nodeModules, entry)];
    for (const dir of dirs) {
      if (!existsSync(join(dir, 'package.json'))) continue;
      count += 1 + countPackages(join(dir, 'node_modules'));
    }
  }
  return count;
}

/**
 * `npm pack` of `root`, installed into a fresh directory from the npm cache only (--offline):
 * how many packages land in node_modules (periscope-agent itself included) and their size.
 */
export function packageFootprint(root) {
  const dir = mkdtempSync(join(tmpdir(), 'periscope-bench-pack-'));
  try {
    const npm = (args, cwd) => execFileSync('npm', [...args, '--loglevel=error', '--no-audit', '--no-fund'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
    const packed = JSON.parse(npm(['pack', root, '--json', '--ignore-scripts', '--pack-destination', dir], dir))[0];
    writeFileSync(join(dir, 'package.json'), '{"name":"footprint","private":true}\n');
    let mode = 'offline';
    try {
      npm(['install', '--offline', '--ignore-scripts', join(dir, packed.filename)], dir);
    } catch {
      mode = 'prefer-offline'; // something was not in the cache yet
      npm(['install', '--prefer-offline', '--ignore-scripts', join(dir, packed.filename)], dir);
    }
    const kb = Number(execFileSync('du', ['-sk', join(dir, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
    return { packages: countPackages(join(dir, 'node_modules')), installedMB: kb / 1024, tarballKB: packed.size / 1024, mode };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function machine() {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    nproc: execFileSync('nproc', ['--all'], { encoding: 'utf8' }).trim(),
    cpu: model.trim(),
    memoryGiB: (totalmem() / 2 ** 30).toFixed(1),
    kernel: execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim(),
  };
}
