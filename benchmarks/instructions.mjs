// Instructions a request costs, counted by valgrind's callgrind instead of timed: the same build
// gives nearly the same count whatever else the machine is doing, so a change of a few hundred
// instructions (a tenth of a microsecond) can be shown on a machine whose timings move by ±30 %.
// It counts what the process executes in user space (JavaScript, V8, Node's C++), not the kernel's
// share, and cache misses only as simulated with --cache (below): a change is confirmed here, its
// cost in time comes from `npm run bench`.
//
//   node benchmarks/instructions.mjs [config,…] [--app hello|express|calls] [--connections N] [--node <binary>] [--register <file>] [--functions N] [--cache] [--keep]
//
// config: as in hotpath.mjs (bare, traced, recorded, full, off, name:ENV=V;…, config@file).
// Default: bare,off,full. Each configuration runs apps/hello-inproc.js under callgrind twice, with
// 2,000 and 12,000 measured requests after the same 20,000 of warm-up; the difference of the two
// totals ÷ 10,000 is a request's cost, start-up and warm-up cancelled out. --app calls runs
// apps/calls-inproc.js instead (the proxy app's two outgoing calls, to the sink as upstream, after
// 4,000 iterations of warm-up): its counts are an iteration's; --app express serves express.js's
// app the same way, /users/42. --connections N spreads the requests over N connections, N in
// flight (hello and express; default one connection, eight in flight): under the network load
// consecutive requests come from different connections, so a span's peer port changes from one
// to the next, which one connection never shows. --functions N also
// lists the N functions whose count changed the most between neighbouring configurations,
// JavaScript ones named from V8's perf map (`--perf-basic-prof`). --keep leaves the callgrind
// files and perf maps in the scratch directory it names, for `callgrind_annotate --tree=caller`
// (who calls a builtin). --cache also simulates this machine's caches (callgrind --cache-sim: L1
// of 32 KiB for code and 32 KiB for data, the 1 MiB L2 as the last level) and prints a request's
// misses beside its instructions: code a request runs is fetched from L2 again when the request
// path's code is larger than L1, and those stalls cost time an instruction count does not show.
// About 2 minutes a configuration (about 3 with --cache).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSink } from './lib/sink.mjs';
import { start } from './lib/procs.mjs';
import { inProcessConfig } from './lib/configs.mjs';
import { parseCommon } from './lib/cli.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const FEW = 2_000;
const MANY = 12_000;

const argv = process.argv.slice(2);
const fnAt = argv.indexOf('--functions');
const topFunctions = fnAt < 0 ? 0 : Number(argv.splice(fnAt, 2)[1]);
const cacheAt = argv.indexOf('--cache');
const cache = cacheAt >= 0 && argv.splice(cacheAt, 1).length === 1;
const CACHE_ARGS = ['--cache-sim=yes', '--I1=32768,8,64', '--D1=32768,8,64', '--LL=1048576,8,64'];
const keepAt = argv.indexOf('--keep');
const keep = keepAt >= 0 && argv.splice(keepAt, 1).length === 1;
const appAt = argv.indexOf('--app');
const appName = appAt < 0 ? 'hello' : argv.splice(appAt, 2)[1];
const APPS = {
  hello: { file: 'hello-inproc.js', warmup: 20_000, env: {} },
  express: { file: 'hello-inproc.js', warmup: 20_000, env: { APP: 'express' } },
  calls: { file: 'calls-inproc.js', warmup: 4_000, env: {} },
};
const connAt = argv.indexOf('--connections');
const connections = connAt < 0 ? undefined : argv.splice(connAt, 2)[1];
const app = APPS[appName];
if (app === undefined) throw new Error(`--app ${appName}: hello, express or calls`);
const WARMUP = app.warmup;
const UNIT = appName === 'calls' ? 'an iteration' : 'a request';
const { node: nodeArg, register, rest } = parseCommon(argv, HERE);
const node = nodeArg.includes('/') ? resolve(nodeArg) : nodeArg; // the runs' cwd is a scratch directory
const names = (rest[0] ?? 'bare,off,full').split(',');

// callgrind_annotate --version exits non-zero (valgrind 3.19): only a missing program counts.
if (['valgrind', 'callgrind_annotate'].some((cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error !== undefined)) {
  console.error('instructions: needs valgrind (Debian package valgrind, with callgrind_annotate)');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'periscope-instructions-'));
const sink = await startSink({});

// V8's predictable mode (one thread, GC and compilation at points that depend only on the work
// done, not on time) with fixed seeds: the same build then counts nearly the same instructions in
// its own functions run after run (within ~20 a request of ~10,000); the total moves by ~1 % with
// Node's timers and the sink's answers.
const V8_FLAGS = ['--predictable', '--random-seed=1', '--hash-seed=1'];

/** One run under callgrind: the total, and the count of each function. */
async function run(spec, base, env, requests) {
  const out = join(work, `${spec.replace(/[^\w.-]/g, '_')}.${requests}`);
  // --smc-check: V8 rewrites code in place.
  const nodeArgs = [...V8_FLAGS, ...(topFunctions > 0 ? ['--perf-basic-prof'] : []), ...base.args, join(HERE, 'apps', app.file)];
  const proc = start(`${spec} ×${requests}`, 'valgrind', ['--tool=callgrind', ...(cache ? CACHE_ARGS : []), '--smc-check=all-non-file', `--callgrind-out-file=${out}`, node, ...nodeArgs], {
    env: { ...env, REQUESTS: String(requests) },
    cwd: work,
  });
  await proc.waitFor(/^\{.*\}$/m, { timeoutMs: 600_000 });
  const { code } = await proc.exited;
  if (code !== 0) throw new Error(`${spec}: exit ${code}\n${proc.stderr().slice(-2000)}`);
  return annotate(out, join('/tmp', `perf-${proc.pid}.map`), `${out}.perf.map`);
}

/** A configuration's instructions a request: its two runs side by side, one on each core. */
async function measure(spec) {
  const { base, extra, env: configEnv } = inProcessConfig(spec, sink.url, register);
  const env = { ...configEnv, ...app.env, WARMUP: String(WARMUP), UPSTREAM_URL: `${sink.url}/upstream` };
  if (connections !== undefined) Object.assign(env, { CONNECTIONS: connections, PIPELINE: connections });
  const [few, many] = await Promise.all([run(spec, base, env, FEW), run(spec, base, env, MANY)]);
  // As everywhere in the benchmarks, a configuration that should have exported and did not is an
  // error, not a low count (`recorded` sends only at exit, which may not finish under valgrind).
  const received = (await sink.take()).spans;
  if (base.expectSpans && env.OTEL_TRACES_SAMPLER !== 'always_off' && extra.OTEL_BSP_SCHEDULE_DELAY === undefined && received === 0) {
    throw new Error(`${spec}: the sink received no span`);
  }
  const perRequest = perRequestOf(few.byFunction, many.byFunction);
  let own = 0;
  for (const [key, n] of perRequest) if (key.startsWith(OWN)) own += n;
  const out = { spec, total: (many.total - few.total) / (MANY - FEW), own, perRequest };
  if (cache) {
    out.misses = Object.fromEntries(Object.keys(many.misses).map((k) => [k, (many.misses[k] - few.misses[k]) / (MANY - FEW)]));
    out.codeMisses = perRequestOf(few.codeMisses, many.codeMisses);
  }
  return out;
}

/** Per function, the difference of two runs' counts ÷ the difference of their requests. */
function perRequestOf(few, many) {
  const out = new Map();
  for (const key of new Set([...few.keys(), ...many.keys()])) out.set(key, ((many.get(key) ?? 0) - (few.get(key) ?? 0)) / (MANY - FEW));
  return out;
}

/**
 * callgrind_annotate's per-function instructions (and with --cache, L1 code misses); JIT code named
 * from the perf map when there is one.
 */
function annotate(file, perfMap, keptMap) {
  const jit = readPerfMap(perfMap, keptMap);
  const ir = countsBy(file, 'Ir', jit);
  if (!cache) return ir;
  return { ...ir, misses: misses(file), codeMisses: countsBy(file, 'I1mr', jit).byFunction };
}

function countsBy(file, event, jit) {
  const text = execFileSync('callgrind_annotate', ['--threshold=100', `--show=${event}`, `--sort=${event}`, file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const counts = new Map();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const n = Number(m[1].replaceAll(',', ''));
    if (m[2].includes('PROGRAM TOTALS')) {
      total = n;
      continue;
    }
    const name = functionName(m[2], jit);
    counts.set(name, (counts.get(name) ?? 0) + n);
  }
  return { total, byFunction: pairable(counts) };
}

/** The run's simulated cache misses, from the totals callgrind writes: L1 code, L1 data, L2. */
function misses(file) {
  const text = readFileSync(file, 'utf8');
  const events = /^events: (.*)$/m.exec(text)[1].split(' ');
  const totals = /^totals: (.*)$/m.exec(text)[1].split(' ').map(Number);
  const of = (name) => totals[events.indexOf(name)];
  return { code: of('I1mr'), data: of('D1mr') + of('D1mw'), l2: of('ILmr') + of('DLmr') + of('DLmw') };
}

function readPerfMap(file, keptMap) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
    if (keep) copyFileSync(file, keptMap);
    rmSync(file);
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [at, size, ...name] = line.split(' ');
      return { at: parseInt(at, 16), end: parseInt(at, 16) + parseInt(size, 16), name: name.join(' ') };
    })
    .sort((a, b) => a.at - b.at);
}

function functionName(raw, jit) {
  const address = /^\?\?\?:0x([0-9a-f]+)/.exec(raw);
  if (address === null) return raw.replace(/^[^:]*:/, '').replace(/\(.*$/, '').slice(0, 100);
  const at = parseInt(address[1], 16);
  let lo = 0;
  let hi = jit.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (jit[mid].at <= at) lo = mid + 1;
    else hi = mid - 1;
  }
  const entry = jit[hi];
  // `JS:*'name file:line:col`: the tier marker and quote say nothing about the function.
  return entry !== undefined && at < entry.end ? entry.name.replace(/^JS:[*~^+]?'?/, 'js ').replace(/file:\/\/\S*\//, '') : 'JIT code (unnamed)';
}

// Functions of the preload bundle are named `periscope <name>`, and `#2`, `#3` after the first of
// a name in source order, so the same function pairs up across two builds whose lines differ.
const OWN = 'periscope ';
function pairable(counts) {
  const byFunction = new Map();
  const bundle = [];
  for (const [name, n] of counts) {
    // register.js and its chunks (register-agent-<hash>.js, register-chunk-<hash>.js), or a copy.
    const m = /^js (\S*) (register[\w.-]*\.js):(\d+):\d+$/.exec(name);
    if (m === null) byFunction.set(name, (byFunction.get(name) ?? 0) + n);
    else bundle.push({ name: m[1] || '(anonymous)', file: m[2].replace(/-[A-Z0-9]{8}\.js$/, ''), line: Number(m[3]), n });
  }
  bundle.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  const seen = new Map();
  for (const { name, n } of bundle) {
    const k = (seen.get(name) ?? 0) + 1;
    seen.set(name, k);
    const key = `${OWN}${name}${k > 1 ? ` #${k}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + n);
  }
  return byFunction;
}

const results = [];
try {
  for (const spec of names) {
    const r = await measure(spec);
    results.push(r);
    console.log(`${spec}: ${Math.round(r.total).toLocaleString('en')} instructions ${UNIT}${topFunctions > 0 ? `, ${Math.round(r.own).toLocaleString('en')} in periscope's bundle` : ''}`);
  }
} finally {
  await sink.stop();
  if (keep) console.error(`instructions: callgrind files and perf maps kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

const fmt = (n) => Math.round(n).toLocaleString('en');
const signed = (n) => `${n >= 0 ? '+' : ''}${fmt(n)}`;
console.log(`\n${node}, ${appName}, ${fmt(FEW)} and ${fmt(MANY)} ${appName === 'calls' ? 'iterations' : 'requests'} after ${fmt(WARMUP)}${connections === undefined ? '' : `, ${connections} connections`}:`);
for (let i = 0; i < results.length; i++) {
  const { spec, total, own } = results[i];
  const step = i === 0 ? '' : `, ${signed(total - results[i - 1].total)} over the line above`;
  const bundle = topFunctions > 0 ? ` (periscope's bundle ${fmt(own)}${i === 0 ? '' : `, ${signed(own - results[i - 1].own)}`})` : '';
  const m = results[i].misses;
  const missed = m === undefined ? '' : `; misses: L1 code ${fmt(m.code)}, L1 data ${fmt(m.data)}, L2 ${fmt(m.l2)}`;
  console.log(`  ${spec.padEnd(12)} ${fmt(total).padStart(8)}${step}${bundle}${missed}`);
}
if (results.length === 1 && topFunctions > 0) {
  const own = [...results[0].perRequest].sort((x, y) => y[1] - x[1]).slice(0, topFunctions);
  console.log(`\n${results[0].spec}, by function:`);
  for (const [k, v] of own) console.log(`  ${fmt(v).padStart(7)}  ${k}`);
}
for (let i = 1; i < results.length && topFunctions > 0; i++) {
  const a = results[i - 1];
  const b = results[i];
  printDiff(`${b.spec} − ${a.spec}, by function`, a.perRequest, b.perRequest);
  if (cache) printDiff(`${b.spec} − ${a.spec}, L1 code misses by function`, a.codeMisses, b.codeMisses);
}

function printDiff(title, a, b) {
  const diff = [...new Set([...a.keys(), ...b.keys()])].map((k) => [k, (b.get(k) ?? 0) - (a.get(k) ?? 0)]).sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]));
  console.log(`\n${title}:`);
  for (const [k, v] of diff.slice(0, topFunctions)) console.log(`  ${signed(v).padStart(7)}  ${k}`);
}
