// --profile=…:perf: what --cpu-prof cannot see. V8's profiler samples JavaScript only; Linux's
// `perf` samples the whole process, the kernel's work on its behalf included (the socket writes,
// the loopback's TCP, waking the load generator), Node's C++ and V8's builtins and collector.
// Node runs with --perf-basic-prof, so JIT-compiled functions have names in perf's report.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { start } from './procs.mjs';

/** Node's flags for a process perf samples; `stem`: where its files go (see perfPhase). */
export function perfNodeArgs(stem) {
  // --perf-basic-prof also starts V8's log, one file per isolate in the current directory unless told.
  return ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${stem}.v8.log`];
}

/** Whether `perf` (Debian package linux-perf) can sample here: it is installed and allowed to. */
export function perfUsable() {
  const r = spawnSync('perf', ['stat', '-e', 'cpu-clock', '--', 'true'], { encoding: 'utf8' });
  return r.status === 0 ? null : r.error?.message || r.stderr.trim().split('\n').pop() || `perf exited ${r.status}`;
}

/** Samples `pid` for `seconds` with call graphs into `file`, perf itself on `cpu`; resolves when done. */
export async function perfRecord(pid, seconds, file, cpu) {
  // cpu-clock: a software event, so it works on virtual machines without hardware counters.
  const perf = start('perf record', 'perf', ['record', '-q', '-e', 'cpu-clock', '-F', '1999', '-g', '-o', file, '-p', String(pid), '--', 'sleep', String(seconds)], { cpu });
  const { code, signal } = await perf.exited;
  if (code !== 0) throw new Error(`perf record exited ${code ?? signal}: ${perf.stderr().slice(-1000)}`);
}

/** Threads' user and system CPU seconds so far, the main thread apart (/proc/<pid>/task/<tid>/stat). */
export function threadTimes(pid) {
  const out = { mainUser: 0, mainSystem: 0, others: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(f[11]) / 100;
    const system = Number(f[12]) / 100;
    if (tid === String(pid)) {
      out.mainUser += user;
      out.mainSystem += system;
    } else out.others += user + system;
  }
  return out;
}

/** What kind of code a sample was in; `root` tells periscope's JavaScript from the rest. */
function kindOf(type, symbol, root) {
  if (type === 'k') return 'kernel';
  if (symbol.startsWith('JS:')) return symbol.includes(`file://${root}/dist/`) || symbol.includes(`file://${root}/node_modules/`) ? "periscope's JavaScript" : 'JavaScript (Node, the app)';
  if (symbol.startsWith('Builtins_')) return 'V8 builtins';
  return 'C/C++ (V8, Node, libuv, libc)';
}

/** Self samples by symbol, largest first: [{ symbol, kind, share }]; shares of all samples. */
export function perfSymbols(file, root) {
  const r = spawnSync('perf', ['report', '-i', file, '--no-children', '-g', 'none', '--sort', 'sym', '--stdio'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`perf report exited ${r.status}: ${r.stderr.slice(-1000)}`);
  const rows = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*([\d.]+)%\s+\[(.)\]\s+(.+?)\s*$/.exec(line);
    if (m) rows.push({ symbol: m[3], kind: kindOf(m[2], m[3], root), share: Number(m[1]) / 100 });
  }
  return rows;
}

/**
 * The call graphs, written beside `file` as text while the server's symbol map still exists:
 * perf reads JavaScript names from /tmp/perf-<pid>.map, which removePerfMap() then removes.
 */
export function writeCallGraphs(file) {
  const r = spawnSync('perf', ['report', '-i', file, '--no-children', '-g', 'caller,0.5,callee', '--stdio'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`perf report exited ${r.status}: ${r.stderr.slice(-1000)}`);
  writeFileSync(`${file}.txt`, r.stdout);
  return `${file}.txt`;
}

/** --perf-basic-prof's symbol map, written by the server into /tmp: ours to remove. */
export function removePerfMap(pid) {
  rmSync(`/tmp/perf-${pid}.map`, { force: true });
}
