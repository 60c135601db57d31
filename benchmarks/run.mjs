// npm run bench: periscope's overhead as ratios against the same app without it. See README.md.
//   node benchmarks/run.mjs            full matrix (Node 20 + 24, 3 apps, 3 configs, 5 reps), writes docs/benchmarks.md
//                                      and benchmarks/results.json (for --render)
//   node benchmarks/run.mjs --quick    1 rep, short phases, Node 24 only; prints, writes nothing
//   node benchmarks/run.mjs --smoke    hello app, ~1 s phases, machine Node; for CI; writes nothing
//   node benchmarks/run.mjs --peers    also OTel auto-instrumentations and dd-trace (Node 24)
//   node benchmarks/run.mjs --profile[=app[:config[:cpu|alloc|perf]]]
//                                      one app (hello) under one config (full) profiled: CPU (µs) or
//                                      allocations (bytes) per request, by function; perf: by symbol,
//                                      the kernel included
//   node benchmarks/run.mjs --profile=hello:bare,full:cpu:3
//                                      configs compared (cpu): each profiled 3 times, order alternated;
//                                      where the later ones' time per request goes against the first's
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, packageFootprint, startupCommand, startupTimes, waitForQuiet } from './lib/measure.mjs';
import { loaderSleeps, startLoad } from './lib/load.mjs';
import { startSink } from './lib/sink.mjs';
import { runServer } from './lib/scenario.mjs';
import { start } from './lib/procs.mjs';
import { markdown, summary } from './lib/report.mjs';
import { preparePeers } from './lib/peers.mjs';
import { compareCpu, profile } from './lib/profile.mjs';
import { controlConfig, periscopeConfigs as configsFor } from './lib/configs.mjs';
import { NODE_MATRIX, nodeBinary } from '../scripts/node-matrix.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const REGISTER = join(ROOT, 'dist', 'register.js');
// The targets are for Node 24: the test matrix's latest 24.x, so benchmarks and tests move together.
const NODE24_VERSION = NODE_MATRIX.map((m) => m.version).find((v) => v.startsWith('24.'));
const NODE24 = { version: NODE24_VERSION, bin: nodeBinary(NODE24_VERSION) };
const SERVER_CPU = 0;
const LOAD_CPU = 1;

const args = new Set(process.argv.slice(2));
const mode = args.has('--smoke') ? 'smoke' : args.has('--quick') ? 'quick' : 'full';
// Seconds, whole ones: autocannon ends a run on its one-second tick.
const DURATIONS = {
  full: { warmup: 1, settleMs: 500, saturated: 4, fixed: 2, reps: 5, startupRuns: 15, quietWaitMs: 30_000, retries: 2 },
  quick: { warmup: 1, settleMs: 300, saturated: 2, fixed: 1, reps: 1, startupRuns: 5, quietWaitMs: 10_000, retries: 1 },
  smoke: { warmup: 1, settleMs: 200, saturated: 1, fixed: 1, reps: 1, startupRuns: 3, quietWaitMs: 3_000, retries: 0 },
}[mode];
// Other people's builds and tests share these two cores. A run during which they used more than
// this (in cores, from /proc/stat less our own processes) on the server's core, or more than
// FOREIGN_ALL on both, is repeated, up to `retries` times, while the time budget for waiting and
// repeating lasts; after that runs are only marked.
const FOREIGN_SERVER_CORE = 0.05;
const FOREIGN_ALL = 0.2;
const retryBudget = { ms: { full: 5, quick: 2, smoke: 0.5 }[mode] * 60_000 };
const WATCHDOG_MS = { full: 40, quick: 15, smoke: 4 }[mode] * 60_000 + (args.has('--peers') ? 15 * 60_000 : 0);

// warmup: seconds of saturated load before the measured phase, in a full run. The proxy's fetch
// (undici) keeps getting faster for ~6 s under load as the JIT reaches it: after 1 s its bare rate
// swung between 3,000 and 5,300 req/s from run to run, and any ratio to it with it.
const APPS = [
  { name: 'hello', file: 'hello.js', path: '/', what: 'node:http hello world', warmup: 2 },
  { name: 'proxy', file: 'proxy.js', path: '/', what: 'node:http + one http.request + one fetch to a bare upstream', warmup: 8 },
  { name: 'express', file: 'express.js', path: '/users/42', what: 'Express 5, route /users/:id', warmup: 3 },
];
// run.mjs always measures this repository's build.
const periscopeConfigs = (sinkUrl) => configsFor(sinkUrl, REGISTER);

function log(line) {
  process.stderr.write(`bench: ${line}\n`);
}

function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', timeout: 15 * 60_000, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status ?? r.signal ?? r.error?.message}`);
}

function ensureTools() {
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) {
    throw new Error('taskset (util-linux) is needed to pin the server and the load to separate cores: apt-get install util-linux');
  }
  if (!existsSync(REGISTER)) throw new Error(`${REGISTER} is missing: npm run build first (npm run bench does)`);
  if (!existsSync(join(HERE, 'node_modules', 'autocannon')) || !existsSync(join(HERE, 'node_modules', 'express'))) {
    log('installing the benchmark tools (npm ci --prefix benchmarks)');
    sh('npm', ['ci', '--prefix', HERE, '--no-audit', '--no-fund', '--loglevel=error']);
  }
}

function nodeBinaries() {
  const machineNode = { label: `Node ${process.versions.node.split('.')[0]}`, version: process.version, bin: process.execPath };
  if (mode === 'smoke') return [machineNode];
  if (!existsSync(NODE24.bin)) {
    log(`Node ${NODE24.version} missing: node scripts/node-matrix.mjs install ${NODE24.version}`);
    try {
      sh(process.execPath, [join(ROOT, 'scripts', 'node-matrix.mjs'), 'install', NODE24.version]);
    } catch (err) {
      log(`cannot install Node ${NODE24.version} (${err.message}); measuring the machine's Node only`);
      return [machineNode];
    }
  }
  const node24 = { label: 'Node 24', version: `v${NODE24.version}`, bin: NODE24.bin };
  if (mode === 'quick') return [node24];
  return machineNode.version === node24.version ? [node24] : [machineNode, node24];
}

/** One run of runServer in a quiet moment, repeated while other processes disturbed it. */
async function quietRun(opts) {
  const { config } = opts;
  for (let attempt = 1; ; attempt++) {
    const waited = await waitForQuiet({ cores: FOREIGN_ALL, maxMs: Math.min(DURATIONS.quietWaitMs, retryBudget.ms) });
    retryBudget.ms -= waited.ms;
    const began = Date.now();
    let out;
    try {
      out = await runServer(opts);
    } catch (err) {
      if (config.name === 'bare') throw err; // the harness itself is broken
      out = { config: config.name, invalid: err.message.split('\n')[0], fixed: [] };
      log(`  ${config.label} failed: ${err.message}`);
    }
    if (attempt > 1) retryBudget.ms -= Date.now() - began;
    out.attempts = attempt;
    const f = out.foreign;
    out.disturbed = f !== undefined && (f.serverCore > FOREIGN_SERVER_CORE || f.all > FOREIGN_ALL);
    if (!out.disturbed || out.invalid || attempt > DURATIONS.retries || retryBudget.ms <= 0) return out;
    log(`  other processes used ${f.serverCore.toFixed(2)} of the server's core, ${f.all.toFixed(2)} cores in all: repeating the run`);
  }
}

/** Every app under every config, `reps` times, config order rotated each rep. */
async function matrix({ node, apps, configs, load, sink, results }) {
  for (const app of apps) {
    let upstream;
    const env = {};
    if (app.name === 'proxy') {
      upstream = start('upstream', process.execPath, [join(HERE, 'apps', 'upstream.js')], { cpu: LOAD_CPU });
      env.UPSTREAM_URL = `http://127.0.0.1:${(await upstream.waitFor(/listening (\d+)/))[1]}/`;
    }
    const durations = mode === 'full' ? { ...DURATIONS, warmup: app.warmup } : DURATIONS;
    const block = { node: node.label, nodeVersion: node.version, app: app.name, what: app.what, warmup: durations.warmup, configs: configs.map((c) => ({ name: c.name, label: c.label, periscope: !!c.periscope })), runs: [] };
    results.blocks.push(block);
    let rates = null;
    try {
      for (let rep = 0; rep < DURATIONS.reps; rep++) {
        // Rotated, so each config runs first, middle and last once; bare runs first in rep 0 and
        // sets the fixed rates every config then meets.
        const order = configs.map((_, i) => configs[(i + rep) % configs.length]);
        for (const config of order) {
          log(`${node.label} ${app.name} rep ${rep + 1}/${DURATIONS.reps} ${config.label}`);
          const out = await quietRun({ node: node.bin, appFile: join(HERE, 'apps', app.file), path: app.path, config, env, load, sink, durations, rates, cpu: SERVER_CPU, loaderSleeps: loaderSleeps(app.name) });
          out.rep = rep;
          rates ??= out.rates;
          block.runs.push(out);
          if (out.invalid) log(`  INVALID: ${out.invalid}`);
          else log(`  ${Math.round(out.sat.rps)} req/s, ${out.sat.cpuUsPerReq.toFixed(1)} µs CPU/req, ${out.spans} spans`);
        }
      }
    } finally {
      await upstream?.stop(1000);
    }
    block.rates = rates;
  }
}

async function main() {
  const began = Date.now();
  const watchdog = setTimeout(() => {
    log(`still running after ${WATCHDOG_MS / 60_000} min: giving up`);
    process.exit(2);
  }, WATCHDOG_MS);
  watchdog.unref();
  ensureTools();
  // The harness itself (scrapes, /proc reads) stays off the server's core too.
  spawnSync('taskset', ['-apc', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });

  const profileArg = [...args].find((a) => a === '--profile' || a.startsWith('--profile='));
  if (profileArg !== undefined) {
    const [app = 'hello', config = 'full', kind = 'cpu', reps = '1'] = profileArg.slice('--profile='.length).split(':').map((x) => x || undefined);
    const configs = config.split(',');
    const repetitions = Number(reps);
    if (!APPS.some((a) => a.name === app) || !['cpu', 'alloc', 'perf'].includes(kind) || (configs.length > 1 && kind !== 'cpu') || !(Number.isInteger(repetitions) && repetitions >= 1) || (repetitions > 1 && configs.length === 1)) {
      throw new Error(`--profile=${app}:${config}:${kind}:${reps}: app is hello, proxy or express; kind is cpu, alloc or perf; several configurations to compare (a,b) with cpu only, repeated when a fourth field says how often`);
    }
    const node = existsSync(NODE24.bin) ? NODE24.bin : process.execPath;
    const one = (c, brief) => profile({ node, register: REGISTER, here: HERE, periscopeConfigs, serverCpu: SERVER_CPU, loadCpu: LOAD_CPU, spec: { app, config: c, kind }, brief });
    if (configs.length === 1 && repetitions === 1) {
      await one(config, false);
      return 0;
    }
    const runs = [];
    for (let r = 0; r < repetitions; r++) {
      // Alternated, as in the benchmark, so a drift in the machine's speed is shared.
      for (const c of r % 2 === 0 ? configs : [...configs].reverse()) runs.push({ config: c, ...(await one(c, true)) });
    }
    compareCpu(runs, configs);
    return 0;
  }

  const nodes = nodeBinaries();
  const results = {
    mode,
    date: new Date().toISOString(),
    command: mode === 'full' ? `npm run bench${args.has('--peers') ? ' -- --peers' : ''}` : `node benchmarks/run.mjs --${mode}${args.has('--peers') ? ' --peers' : ''}`,
    machine: machine(),
    durations: DURATIONS,
    nodes: nodes.map((n) => ({ label: n.label, version: n.version })),
    startup: [],
    blocks: [],
    peers: null,
  };

  const startupOf = (node, config) => startupCommand(node.bin, config);
  for (const node of nodes) {
    log(`${node.label}: start-up, ${DURATIONS.startupRuns} runs each`);
    await waitForQuiet({ cores: FOREIGN_ALL, maxMs: DURATIONS.quietWaitMs });
    const t = startupTimes({ bare: startupOf(node), periscope: startupOf(node, { args: ['--import', REGISTER] }) }, { runs: DURATIONS.startupRuns, cpu: SERVER_CPU });
    results.startup.push({ node: node.label, ...t });
  }
  log('package footprint: npm pack, then a fresh --offline install of the tarball');
  results.footprint = packageFootprint(ROOT);

  const sink = await startSink({ cpu: LOAD_CPU });
  const load = await startLoad({ cpu: LOAD_CPU });
  try {
    const apps = mode === 'smoke' ? APPS.slice(0, 1) : APPS;
    // The control (bare + 3 µs of CPU a request) shows how this run's harness reads a known cost.
    for (const node of nodes) await matrix({ node, apps, configs: [...periscopeConfigs(sink.url), controlConfig()], load, sink, results });

    if (args.has('--peers')) {
      const node24 = nodes.find((n) => n.version === `v${NODE24.version}`);
      const peers = node24 ? await preparePeers({ sinkUrl: sink.url, log }) : { skipped: `Node ${NODE24.version} is not installed` };
      results.peers = { skipped: peers.skipped ?? null, versions: peers.versions ?? null };
      if (!peers.skipped) {
        const [bare, , full] = periscopeConfigs(sink.url);
        const configs = [bare, full, ...peers.configs];
        log(`peers: start-up, ${DURATIONS.startupRuns} runs each`);
        const commands = { bare: startupOf(node24), periscope: startupOf(node24, { args: ['--import', REGISTER] }) };
        for (const c of peers.configs) commands[c.name] = startupOf(node24, c);
        results.peers.startup = startupTimes(commands, { runs: DURATIONS.startupRuns, cpu: SERVER_CPU });
        results.peers.blocks = [];
        await matrix({ node: node24, apps: mode === 'smoke' ? APPS.slice(0, 1) : APPS, configs, load, sink, results: { blocks: results.peers.blocks } });
      } else log(`peers skipped: ${peers.skipped}`);
    }
  } finally {
    await load.stop();
    await sink.stop();
  }

  results.elapsedSeconds = Math.round((Date.now() - began) / 1000);
  process.stdout.write(summary(results));
  if (mode === 'full') {
    // Only a full run's: --render re-renders the published page from it, which a smoke or quick
    // run (CI runs one) must not replace.
    writeFileSync(join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(ROOT, 'docs', 'benchmarks.md'), markdown(results));
    log('wrote docs/benchmarks.md');
  }
  const broken = results.blocks.flatMap((b) => b.runs).filter((r) => r.invalid && r.config !== 'bare');
  if (broken.length > 0) {
    log(`${broken.length} periscope run(s) INVALID: ${[...new Set(broken.map((r) => `${r.config}: ${r.invalid}`))].join('; ')}`);
    return 1;
  }
  return 0;
}

if (args.has('--render')) {
  // Re-renders docs/benchmarks.md from the last full run's benchmarks/results.json.
  const results = JSON.parse(readFileSync(join(HERE, 'results.json'), 'utf8'));
  writeFileSync(join(ROOT, 'docs', 'benchmarks.md'), markdown(results));
  process.stdout.write(summary(results));
} else {
  main().then(
    (code) => process.exit(code),
    (err) => {
      log(`the harness broke: ${err.stack ?? err}`);
      process.exit(2);
    },
  );
}
