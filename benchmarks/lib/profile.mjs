// --profile: one app under one configuration, profiled under saturated load after a warm-up, and
// the functions that cost the most, per request.
//   cpu:   --cpu-prof (Chrome DevTools' format: nodes with callFrames, samples with time
//          deltas); self time in µs per request.
//   alloc: V8's sampling heap profiler with the objects minor and major GCs collected kept in the
//          sample (what --heap-prof leaves out), over the measured phase only; bytes allocated
//          per request, by function and caller.
//   perf:  Linux perf over the measured phase (perf-profile.mjs): CPU per request by symbol and
//          by kind of code, the kernel's share included, and the threads' user and system time.
// Several configurations (cpu only) are profiled in turn, repeated with their order alternated,
// and compared: where each one's time per request goes against the first's (compareCpu).
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loaderSleeps, startLoad } from './load.mjs';
import { startSink } from './sink.mjs';
import { start } from './procs.mjs';
import { perfNodeArgs, perfRecord, perfSymbols, perfUsable, removePerfMap, threadTimes, writeCallGraphs } from './perf-profile.mjs';

const TOP = 25;
const WARMUP_S = 3;
const MEASURE_S = 5;
const PATHS = { hello: '/', proxy: '/', express: '/users/42' };

function where(callFrame, root) {
  const url = callFrame.url.startsWith('file://') ? relative(root, fileURLToPath(callFrame.url)) : callFrame.url;
  return { url, at: url ? `${url}:${callFrame.lineNumber + 1}` : '' };
}

/** Self time per function (name + url + line), largest first: [{ name, url, where, us, share }]. */
export function selfTimes(profile, root) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byKey = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i + 1] is the time spent in samples[i] (as DevTools reads it).
    const us = profile.timeDeltas[i + 1] ?? 0;
    const { callFrame } = nodes.get(profile.samples[i]);
    const { url, at } = where(callFrame, root);
    const key = `${callFrame.functionName}\0${at}`;
    const e = byKey.get(key) ?? { name: callFrame.functionName || '(anonymous)', url, where: at, us: 0 };
    e.us += us;
    byKey.set(key, e);
    // Shares are of the time the process was doing something.
    if (callFrame.functionName !== '(idle)') total += us;
  }
  return [...byKey.values()].sort((a, b) => b.us - a.us).map((e) => ({ ...e, share: e.us / total }));
}

/** Bytes allocated per function and its caller, largest first: [{ name, url, where, caller, bytes, share }]. */
export function allocations(profile, root) {
  const parents = new Map();
  const nodes = new Map();
  (function index(node, parent) {
    nodes.set(node.id, node);
    parents.set(node.id, parent);
    for (const child of node.children) index(child, node);
  })(profile.head, undefined);
  const byKey = new Map();
  let total = 0;
  for (const { nodeId, size } of profile.samples) {
    const node = nodes.get(nodeId);
    const { url, at } = where(node.callFrame, root);
    const parent = parents.get(nodeId);
    const caller = parent ? `${parent.callFrame.functionName || '(anonymous)'} ${where(parent.callFrame, root).at}` : '';
    const key = `${node.callFrame.functionName}\0${at}\0${caller}`;
    const e = byKey.get(key) ?? { name: node.callFrame.functionName || '(anonymous)', url, where: at, caller, bytes: 0 };
    e.bytes += size;
    byKey.set(key, e);
    total += size;
  }
  return [...byKey.values()].sort((a, b) => b.bytes - a.bytes).map((e) => ({ ...e, share: e.bytes / total }));
}

// Our build and our own dependencies; not the apps' (benchmarks/node_modules).
const isOurs = (r) => r.url.startsWith('dist/') || r.url.startsWith('node_modules/');
const pct = (share) => `${(share * 100).toFixed(1)} %`;
const print = (line) => process.stdout.write(`${line}\n`);

// Node's flags for each kind; `stem` names the files of this profile (perf's, with its own names).
const PRELOADS = {
  cpu: (dir, here) => ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', pathToFileURL(join(here, 'lib', 'exit-on-sigusr2.mjs')).href],
  alloc: (dir, here) => ['--import', pathToFileURL(join(here, 'lib', 'alloc-sampler.mjs')).href],
  perf: (dir, here, stem) => perfNodeArgs(stem),
};

/**
 * spec: { app, config: 'bare' | 'off' | 'full', kind: 'cpu' | 'alloc' | 'perf' }. `brief`: one
 * line instead of the function list. Returns, for cpu, the profile's rows and the requests served.
 */
export async function profile({ node, register, here, periscopeConfigs, serverCpu, loadCpu, spec, brief = false }) {
  const root = join(here, '..');
  if (spec.kind === 'perf') {
    const unusable = perfUsable();
    if (unusable) throw new Error(`--profile=…:perf needs Linux perf (Debian package linux-perf), allowed to sample: ${unusable}`);
  }
  const dir = join(here, 'profiles');
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const sink = await startSink({ cpu: loadCpu });
  const load = await startLoad({ cpu: loadCpu });
  const config = periscopeConfigs(sink.url).find((c) => c.name === spec.config);
  if (config === undefined) throw new Error(`--profile: no configuration ${spec.config} (bare, off, full)`);
  let upstream;
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...config.env };
  if (spec.app === 'proxy') {
    upstream = start('upstream', process.execPath, [join(here, 'apps', 'upstream.js')], { cpu: loadCpu });
    env.UPSTREAM_URL = `http://127.0.0.1:${(await upstream.waitFor(/listening (\d+)/))[1]}/`;
  }
  const stem = join(dir, `${spec.app}-${spec.config}-${Date.now()}`);
  const preload = PRELOADS[spec.kind](dir, here, stem);
  const server = start(`profiled ${spec.app}`, node, [...preload, ...config.args, join(here, 'apps', `${spec.app}.js`)], { cpu: serverCpu, env: { ...env, PERISCOPE_BENCH_PROFILE_DIR: dir } });
  try {
    const url = `http://127.0.0.1:${(await server.waitFor(/listening (\d+)/))[1]}${PATHS[spec.app]}`;
    const sleep = loaderSleeps(spec.app);
    const warm = await load.phase({ url, connections: 32, seconds: WARMUP_S, sleep });
    if (spec.kind === 'perf') {
      await perfPhase({ server, load, url, sleep, root, stem, spec, node, loadCpu });
      return;
    }
    if (spec.kind === 'alloc') {
      server.child.kill('SIGUSR2'); // start sampling
      await server.waitFor(/sampling allocations/, { stream: 'stderr' });
    }
    const sat = await load.phase({ url, connections: 32, seconds: MEASURE_S, sleep });
    server.child.kill('SIGUSR2'); // cpu: exit, writing the profile; alloc: write the sample, then exit
    await Promise.race([server.exited, new Promise((r) => setTimeout(r, 20_000))]);
    const ext = spec.kind === 'cpu' ? '.cpuprofile' : '.heapprofile';
    const file = readdirSync(dir).filter((f) => f.endsWith(ext) && !before.has(f)).sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs)[0];
    if (!file) throw new Error(`no ${ext} appeared in ${dir}: ${server.stderr().slice(-1000)}`);
    const data = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    print(`${brief ? '' : '\n'}${spec.config}, ${spec.app}, ${node}: ${Math.round(sat.rps)} req/s for ${MEASURE_S} s after ${WARMUP_S} s of warm-up`);
    print(`profile: ${join(dir, file)}`);
    if (spec.kind === 'cpu') {
      // The CPU profile spans the warm-up too: per request means per request served in both phases.
      const requests = warm.ok + sat.ok;
      const rows = selfTimes(data, root).filter((r) => r.name !== '(idle)');
      if (brief) return { rows, requests };
      print(`self time per request, and share of the time not idle; * = periscope or its dependencies\n`);
      for (const r of rows.slice(0, TOP)) print(`${(r.us / requests).toFixed(3).padStart(8)} µs ${pct(r.share).padStart(7)} ${isOurs(r) ? '*' : ' '} ${r.name} ${r.where}`);
      summary(rows, (r) => r.us / requests, 'µs');
      return { rows, requests };
    } else {
      const rows = allocations(data, root);
      print(`bytes allocated per request (sampled), by function <- caller; * = periscope or its dependencies\n`);
      for (const r of rows.slice(0, TOP)) print(`${(r.bytes / sat.ok).toFixed(0).padStart(7)} B ${pct(r.share).padStart(7)} ${isOurs(r) ? '*' : ' '} ${r.name} ${r.where} <- ${r.caller}`);
      summary(rows, (r) => r.bytes / sat.ok, 'B');
    }
  } finally {
    await server.stop(2000);
    if (spec.kind === 'perf') removePerfMap(server.pid);
    await upstream?.stop(1000);
    await load.stop();
    await sink.stop();
  }
}

/** The measured phase under perf: CPU per request by symbol, by kind of code and by thread. */
async function perfPhase({ server, load, url, sleep, root, stem, spec, node, loadCpu }) {
  const file = `${stem}.perf.data`;
  const t0 = threadTimes(server.pid);
  const [sat] = await Promise.all([load.phase({ url, connections: 32, seconds: MEASURE_S, sleep }), perfRecord(server.pid, MEASURE_S, file, loadCpu)]);
  const t1 = threadTimes(server.pid);
  const us = (seconds) => (seconds * 1e6) / sat.ok;
  const main = { user: us(t1.mainUser - t0.mainUser), system: us(t1.mainSystem - t0.mainSystem) };
  const perRequest = main.user + main.system + us(t1.others - t0.others);
  print(`\n${spec.config}, ${spec.app}, ${node}: ${Math.round(sat.rps)} req/s for ${MEASURE_S} s after ${WARMUP_S} s of warm-up`);
  print(`call graphs: ${writeCallGraphs(file)}`);
  print(`server CPU ${perRequest.toFixed(2)} µs per request: main thread ${main.user.toFixed(2)} user + ${main.system.toFixed(2)} system, other threads ${(perRequest - main.user - main.system).toFixed(2)}`);
  const rows = perfSymbols(file, root);
  print(`self time per request by symbol, from the samples' shares of that CPU; * = periscope's JavaScript\n`);
  for (const r of rows.slice(0, TOP)) print(`${(r.share * perRequest).toFixed(3).padStart(8)} µs ${pct(r.share).padStart(7)} ${r.kind.startsWith('periscope') ? '*' : ' '} ${r.symbol}`);
  const byKind = new Map();
  for (const r of rows) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + r.share);
  print('\nby kind of code:');
  for (const [kind, share] of [...byKind].sort((a, b) => b[1] - a[1])) print(`${(share * perRequest).toFixed(2).padStart(8)} µs ${pct(share).padStart(7)}  ${kind}`);
}

/** What a function's self time is counted as when two configurations are compared. */
function kindOf(r) {
  if (isOurs(r)) return "periscope's JavaScript";
  if (r.name === '(garbage collector)') return 'garbage collector';
  if (r.name === '(program)') return '(program): V8 and Node outside JavaScript';
  if (r.url === '') return 'native functions called from JavaScript (socket writes, clocks…)';
  return "Node's and the app's JavaScript";
}

/**
 * runs: [{ config, rows, requests }], several per configuration. Self time per request pooled
 * over a configuration's runs (their time over their requests), then each configuration after the
 * first against the first: in total, by kind of code, and the functions that moved the most.
 */
export function compareCpu(runs, configs) {
  const pooled = new Map();
  for (const config of configs) {
    const mine = runs.filter((r) => r.config === config);
    const requests = mine.reduce((n, r) => n + r.requests, 0);
    const byFunction = new Map();
    for (const run of mine) {
      for (const r of run.rows) {
        const key = `${r.name} ${r.where}`;
        const e = byFunction.get(key) ?? { ...r, us: 0 };
        e.us += r.us;
        byFunction.set(key, e);
      }
    }
    for (const e of byFunction.values()) e.perRequest = e.us / requests;
    pooled.set(config, { runs: mine.length, byFunction });
  }
  const total = (p) => [...p.byFunction.values()].reduce((n, e) => n + e.perRequest, 0);
  const [first, ...rest] = configs;
  const base = pooled.get(first);
  for (const config of rest) {
    const other = pooled.get(config);
    const kinds = new Map();
    const moved = [];
    for (const key of new Set([...base.byFunction.keys(), ...other.byFunction.keys()])) {
      const a = base.byFunction.get(key);
      const b = other.byFunction.get(key);
      const delta = (b?.perRequest ?? 0) - (a?.perRequest ?? 0);
      const kind = kindOf(a ?? b);
      kinds.set(kind, (kinds.get(kind) ?? 0) + delta);
      moved.push({ delta, row: b ?? a, only: a === undefined });
    }
    const sign = (n, digits) => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(digits)}`;
    print(`\n${config} against ${first}, ${other.runs} and ${base.runs} profile(s): sampled time per request ${total(other).toFixed(2)} against ${total(base).toFixed(2)} µs, ${sign(total(other) - total(base), 2)} µs`);
    print(`(--cpu-prof's time: the profiler's own cost is in it, and the kernel's share of a socket write counts in the native function that made it)`);
    print('by kind of code:');
    for (const [kind, us] of [...kinds].sort((x, y) => y[1] - x[1])) print(`${sign(us, 2).padStart(8)} µs  ${kind}`);
    print(`functions that moved the most (new: only under ${config}; * = periscope or its dependencies):`);
    for (const m of moved.sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta)).slice(0, TOP)) {
      print(`${sign(m.delta, 3).padStart(8)} µs ${m.only ? 'new' : '   '} ${isOurs(m.row) ? '*' : ' '} ${m.row.name} ${m.row.where}`);
    }
  }
}

function summary(rows, perRequest, unit) {
  const byFile = new Map();
  for (const r of rows.filter(isOurs)) byFile.set(r.url, (byFile.get(r.url) ?? 0) + perRequest(r));
  const all = [...byFile.values()].reduce((a, b) => a + b, 0);
  print(`\nperiscope's own functions: ${all.toFixed(unit === 'µs' ? 2 : 0)} ${unit} per request, by file:`);
  for (const [url, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 8)) print(`${v.toFixed(unit === 'µs' ? 3 : 0).padStart(9)} ${unit}  ${url}`);
}
