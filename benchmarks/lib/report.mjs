// Turns the raw runs into medians of per-repetition ratios/differences to bare, judges the targets,
// and renders docs/benchmarks.md and the stdout summary.
import { median } from './measure.mjs';

const TARGET_NODE = 'Node 24'; // targets are judged on Node 24 only
const FELL_BEHIND = 0.97; // a fixed-rate phase that achieved less than this share of its rate
// Bare's server core busy less than this in the saturated phase: the load generator, not the
// server, set bare's rate, so a throughput ratio to it does not measure periscope.
const SERVER_SATURATED = 0.9;

// Each figure: how to read it off a run, how to compare it with bare's, how to print both.
const FIGURES = [
  { key: 'rps', title: 'requests/s, saturated', get: (r) => r.sat?.rps, cmp: 'ratio', abs: (v) => fmtInt(v) },
  { key: 'busy', title: 'server core busy, saturated', get: (r) => r.sat?.busy, cmp: 'none', abs: (v) => `${Math.round(v * 100)} %` },
  { key: 'loaderBusy', title: 'load generator busy, saturated', get: (r) => r.sat?.loaderBusy, cmp: 'none', abs: (v) => `${Math.round(v * 100)} %` },
  { key: 'cpu', title: 'server CPU µs/request', get: (r) => r.sat?.cpuUsPerReq, cmp: 'diff', unit: 'µs', abs: (v) => `${v.toFixed(1)} µs` },
  // The same CPU by thread: the request path's own user and kernel time, and V8's helpers (the
  // collector's parallel and concurrent work, the compiler), which share the server's one core.
  { key: 'cpuMainUser', title: '… main thread, user', get: (r) => r.sat?.threadsUsPerReq?.mainUser, cmp: 'diff', unit: 'µs', abs: (v) => `${v.toFixed(1)} µs` },
  { key: 'cpuMainSystem', title: '… main thread, kernel', get: (r) => r.sat?.threadsUsPerReq?.mainSystem, cmp: 'diff', unit: 'µs', abs: (v) => `${v.toFixed(1)} µs` },
  { key: 'cpuOthers', title: '… other threads', get: (r) => r.sat?.threadsUsPerReq?.others, cmp: 'diff', unit: 'µs', abs: (v) => `${v.toFixed(1)} µs` },
  { key: 'cpu_0', title: 'server CPU µs/request at 50 % load', get: (r) => r.fixed?.[0]?.cpuUsPerReq, cmp: 'diff', unit: 'µs', abs: (v) => `${v.toFixed(1)} µs`, rateIndex: 0 },
  ...[0, 1].flatMap((i) => [
    { key: `p50_${i}`, title: `p50 at ${i ? 80 : 50} % load`, get: (r) => r.fixed?.[i]?.p50, cmp: 'ratio', abs: (v) => fmtMs(v), rateIndex: i },
    { key: `p99_${i}`, title: `p99 at ${i ? 80 : 50} % load`, get: (r) => r.fixed?.[i]?.p99, cmp: 'ratio', abs: (v) => fmtMs(v), rateIndex: i },
  ]),
  { key: 'rssIdle', title: 'RSS idle', get: (r) => r.rssIdle, cmp: 'diff', unit: 'MB', abs: (v) => `${v.toFixed(1)} MB` },
  { key: 'rssLoad', title: 'RSS after load', get: (r) => r.rssLoad, cmp: 'diff', unit: 'MB', abs: (v) => `${v.toFixed(1)} MB` },
  { key: 'spansPerReq', title: 'spans received per request', get: (r) => r.spansPerReq, cmp: 'none', abs: (v) => v.toFixed(2) },
];

// Per-app targets, judged on each periscope configuration's medians on TARGET_NODE.
const TARGETS = [
  { key: 'cpu', apps: ['hello'], text: '≤ +3 µs', ok: (v) => v <= 3 },
  { key: 'rps', apps: ['hello'], text: '≥ 0.80×', ok: (v) => v >= 0.8 },
  { key: 'rps', apps: ['proxy'], text: '≥ 0.92×', ok: (v) => v >= 0.92 },
  { key: 'p99_1', apps: ['hello', 'proxy', 'express'], text: '≤ 1.3×', ok: (v) => v <= 1.3 },
  { key: 'rssIdle', apps: ['hello', 'proxy', 'express'], text: '≤ +25 MB', ok: (v) => v <= 25 },
  { key: 'rssLoad', apps: ['hello', 'proxy', 'express'], text: '≤ +40 MB', ok: (v) => v <= 40 },
];
const STARTUP_TARGET = { text: '≤ +50 ms', ok: (v) => v <= 50 };
const PACKAGES_TARGET = { text: '≤ 15', ok: (v) => v <= 15 };

function fmtInt(v) {
  return Math.round(v).toLocaleString('en-US');
}
function fmtMs(v) {
  return v >= 10 ? `${v.toFixed(1)} ms` : `${v.toPrecision(2)} ms`;
}
/** The decimals a ratio (0.97×) or a difference (+2.1 µs) is printed with. */
const digitsOf = (fig) => (fig.cmp === 'ratio' ? 2 : 1);

function fmtCmp(fig, v, digits = digitsOf(fig)) {
  if (v === null || v === undefined) return '–';
  if (fig.cmp === 'ratio') return `${v.toFixed(digits)}×`;
  if (fig.cmp === 'diff') return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)} ${fig.unit}`;
  return fig.abs(v);
}

/**
 * The digits to print a judged figure with: its usual ones, or up to two more where rounding would
 * make a missed target read as met (0.795× printed as 0.80× beside "≥ 0.80×, not met").
 */
function judgedDigits(v, digits, ok) {
  let d = digits;
  while (d < digits + 2 && !ok(v) && ok(Number(v.toFixed(d)))) d++;
  return d;
}
const mark = (ok) => (ok ? '✓' : '✗');

/** Medians per block: bare's absolute values, each other config's ratio/difference to bare per rep. */
export function aggregate(block) {
  const reps = [...new Set(block.runs.map((r) => r.rep))];
  const bareOf = (rep) => block.runs.find((r) => r.rep === rep && r.config === 'bare');
  const configs = {};
  for (const c of block.configs) {
    const runs = block.runs.filter((r) => r.config === c.name);
    const invalid = [...new Set(runs.filter((r) => r.invalid).map((r) => r.invalid))];
    // Repetitions in which neither this run nor bare's was disturbed by other processes; all of
    // them when there are none such, and then the figures are marked.
    const clean = reps.filter((rep) => !runs.find((r) => r.rep === rep)?.disturbed && !bareOf(rep)?.disturbed);
    const onlyDisturbed = clean.length === 0;
    const used = onlyDisturbed ? reps : clean;
    const fig = {};
    for (const f of FIGURES) {
      const values = used.map((rep) => {
        const run = runs.find((r) => r.rep === rep);
        const bare = bareOf(rep);
        const v = run && f.get(run);
        if (c.name === 'bare' || f.cmp === 'none') return v;
        const b = bare && f.get(bare);
        if (typeof v !== 'number' || typeof b !== 'number') return null;
        return f.cmp === 'ratio' ? v / b : v - b;
      });
      fig[f.key] = median(values);
    }
    const usedRuns = runs.filter((r) => used.includes(r.rep));
    const behind = [0, 1].map((i) => usedRuns.some((r) => r.fixed?.[i] && r.fixed[i].rps < FELL_BEHIND * r.fixed[i].rate));
    configs[c.name] = { label: c.label, periscope: c.periscope, invalid, fig, behind, reps: used.length, onlyDisturbed };
  }
  return configs;
}

/** Bare's saturated rate was the load generator's, not the server's (SERVER_SATURATED). */
function loaderBound(agg) {
  const busy = agg.bare?.fig.busy;
  return typeof busy === 'number' && busy < SERVER_SATURATED;
}

/** Whether a target is judged on this block's figures: not a throughput target that the load generator limited. */
function judgeable(key, agg) {
  return !(key === 'rps' && loaderBound(agg));
}

function targetsFor(block, key) {
  if (block.node !== TARGET_NODE) return undefined;
  return TARGETS.find((t) => t.key === key && t.apps.includes(block.app));
}

function blockTable(block) {
  const agg = aggregate(block);
  const names = block.configs.map((c) => c.name);
  const rates = block.rates ? ` Fixed rates: ${block.rates.map(fmtInt).join(' and ')} req/s (50 % and 80 % of bare's saturated rate in repetition 1).` : '';
  const lines = [`### ${block.node} (${block.nodeVersion}) — ${block.app}: ${block.what}`, '', rates.trim(), ''];
  lines.push(`| figure | ${names.map((n) => agg[n].label).join(' | ')} | target (${TARGET_NODE}) |`);
  lines.push(`| --- | ${names.map(() => '---:').join(' | ')} | --- |`);
  for (const f of FIGURES) {
    const target = TARGETS.find((t) => t.key === f.key && t.apps.includes(block.app));
    const cells = names.map((n) => {
      const a = agg[n];
      const v = a.fig[f.key];
      if (n !== 'bare' && a.invalid.length > 0) return '**INVALID**';
      const t = targetsFor(block, f.key);
      const judged = t !== undefined && a.periscope && v !== null && judgeable(f.key, agg);
      let cell =
        n === 'bare' || f.cmp === 'none' ? (v === null ? '–' : f.abs(v)) : fmtCmp(f, v, judged ? judgedDigits(v, digitsOf(f), t.ok) : undefined);
      if (f.rateIndex !== undefined && a.behind[f.rateIndex]) cell += ' †';
      if (a.onlyDisturbed) cell += ' ‡';
      if (f.key === 'rps' && loaderBound(agg)) cell += ' §';
      if (judged) cell += ` ${mark(t.ok(v))}`;
      return cell;
    });
    lines.push(`| ${f.title} | ${cells.join(' | ')} | ${target ? target.text : ''} |`);
  }
  const repeated = block.runs.filter((r) => r.attempts > 1).length;
  const disturbed = block.runs.filter((r) => r.disturbed).length;
  if (repeated > 0 || disturbed > 0) {
    const used = names.map((n) => `${agg[n].label} ${agg[n].onlyDisturbed ? `none (all ${agg[n].reps} used, ‡)` : agg[n].reps}`).join(', ');
    lines.push('', `${repeated} run(s) were repeated because other processes on the machine were busy; ${disturbed} of ${block.runs.length} runs stayed disturbed. Undisturbed repetitions used: ${used}.`);
  }
  for (const n of names) {
    if (agg[n].invalid.length > 0) lines.push('', `**INVALID ${agg[n].label}**: ${agg[n].invalid.join('; ')}. Its figures are not reported.`);
  }
  return lines.join('\n');
}

/** Every target with its figure per periscope configuration: [{ what, text, results: [{config, value, ok}] }]. */
export function judgeTargets(results) {
  const out = [];
  for (const t of TARGETS) {
    for (const block of results.blocks.filter((b) => b.node === TARGET_NODE && t.apps.includes(b.app))) {
      const agg = aggregate(block);
      const f = FIGURES.find((x) => x.key === t.key);
      const judged = judgeable(t.key, agg);
      const res = Object.values(agg).filter((a) => a.periscope).map((a) => {
        const v = a.fig[t.key];
        const invalid = a.invalid.length > 0;
        const marks = `${a.onlyDisturbed ? ' ‡' : ''}${judged ? '' : ' §'}`;
        // ok: null, not judged (§): the figure is shown, neither met nor missed.
        return { config: a.label, shown: invalid ? 'INVALID' : `${fmtCmp(f, v, v === null ? undefined : judgedDigits(v, digitsOf(f), t.ok))}${marks}`, ok: invalid ? false : judged ? v !== null && t.ok(v) : null };
      });
      out.push({ what: `${f.title}, ${block.app}`, text: t.text, res });
    }
  }
  const su = results.startup.find((s) => s.node === TARGET_NODE);
  if (su) {
    const d = su.periscope - su.bare;
    out.push({ what: 'start-up', text: STARTUP_TARGET.text, res: [{ config: 'periscope', shown: `+${d.toFixed(judgedDigits(d, 0, STARTUP_TARGET.ok))} ms`, ok: STARTUP_TARGET.ok(d) }] });
  }
  if (results.footprint) {
    const n = results.footprint.packages;
    out.push({ what: 'installed packages', text: PACKAGES_TARGET.text, res: [{ config: 'periscope', shown: String(n), ok: PACKAGES_TARGET.ok(n) }] });
  }
  return out;
}

function targetLines(results) {
  const verdict = (ok) => (ok === null ? 'not judged' : ok ? 'met' : 'NOT met');
  return judgeTargets(results).map((t) => `${t.what} ${t.text}: ${t.res.map((r) => `${r.config} ${r.shown} ${verdict(r.ok)}`).join('; ')}`);
}

function startupTable(rows, names) {
  const lines = [`| Node | ${names.map((n) => (n === 'bare' ? '`node -e 0`' : `${n} (difference)`)).join(' | ')} |`, `| --- | ${names.map(() => '---:').join(' | ')} |`];
  for (const r of rows) {
    lines.push(`| ${r.node} | ${names.map((n) => (n === 'bare' ? `${r.bare.toFixed(1)} ms` : `+${(r[n] - r.bare).toFixed(1)} ms`)).join(' | ')} |`);
  }
  return lines.join('\n');
}

function repeatedRuns(results) {
  return [...results.blocks, ...(results.peers?.blocks ?? [])].flatMap((b) => b.runs).reduce((n, r) => n + (r.attempts ?? 1) - 1, 0);
}

/** "2 s hello, 8 s proxy, …" from the blocks (older results.json files: one figure for all). */
function warmups(results) {
  const byApp = new Map(results.blocks.map((b) => [b.app, b.warmup ?? results.durations.warmup]));
  return [...byApp].map(([app, s]) => `${s} s ${app}`).join(', ');
}

export function markdown(results) {
  const m = results.machine;
  const d = results.durations;
  const fp = results.footprint;
  const out = [
    '# Benchmarks',
    '',
    `Generated by \`${results.command}\` on ${results.date.slice(0, 10)} in ${Math.round(results.elapsedSeconds / 60)} min (${repeatedRuns(results)} runs repeated because other processes were busy); do not edit by hand.`,
    'How each figure is measured: [benchmarks/README.md](../benchmarks/README.md).',
    '',
    `Machine: ${m.nproc} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.kernel}. Node: ${results.nodes.map((n) => `${n.label} = ${n.version}`).join(', ')}.`,
    `The server runs on core 0, the load generator (autocannon), the trace sink and the proxy's upstream on core 1.`,
    `Each run: 1 s at 500 req/s, then idle RSS; a saturated warm-up (${warmups(results)}); ${d.saturated} s saturated (32 connections, the load generator never sleeping but for the proxy, whose upstream shares its core); ${d.fixed} s at each fixed rate (64 connections, evenly paced); RSS after load.`,
    `${d.reps} repetition(s) with the configuration order rotated; every figure is the median over repetitions of the figure (bare) or of its ratio/difference to bare in the same repetition.`,
    '',
    '**Configurations.** *bare*: the app alone. *periscope, export off*: `--import periscope-agent/register`, `OTEL_TRACES_EXPORTER=none`, metrics on.',
    '*periscope, full*: 100 % sampling, OTLP http/protobuf to a local sink that counts the spans, metrics scraped once a second. A configuration whose sink counted no spans is INVALID, never fast.',
    '*bare + 3 µs of CPU a request* is a control, not periscope: the app with a busy loop of 3 µs before each request, to show how this run reads a known cost (a reading near +3 µs: the CPU figures add up).',
    '',
    `Targets are judged on ${TARGET_NODE} (✓ met, ✗ not met). † marks a fixed-rate phase that achieved less than ${FELL_BEHIND * 100} % of its rate in some repetition: the server (or the load generator) could not keep up. ‡ marks figures from runs that other processes on the machine disturbed (no undisturbed repetition was left): read them with care. § marks a saturated rate that the load generator, not the server, set: bare's server core was less than ${SERVER_SATURATED * 100} % busy, so a throughput ratio to it does not measure periscope, and its target is not judged.`,
    '',
    '## Targets',
    '',
    ...targetLines(results).map((l) => `- ${l}`),
    '',
    "Where a target is not met, what stands in the way, with the CPU profiles that show it: [benchmarks/README.md, What stands in the way](../benchmarks/README.md#what-stands-in-the-way).",
    '',
    '## Throughput, CPU, latency and memory',
    '',
    ...results.blocks.map((b) => `${blockTable(b)}\n`),
    '## Start-up',
    '',
    `\`node --import <register> -e 0\` against \`node -e 0\`, median of ${d.startupRuns} alternating runs each (periscope opens its metrics port on port 0).`,
    '',
    startupTable(results.startup, ['bare', 'periscope']),
    '',
    '## Install footprint',
    '',
    fp
      ? `\`npm pack\` of the repository, installed into an empty directory with \`npm install --${fp.mode}\`: **${fp.packages} packages** under node_modules (periscope-agent included), **${fp.installedMB.toFixed(1)} MB** on disk; the tarball is ${fp.tarballKB.toFixed(0)} kB.`
      : 'not measured',
    '',
  ];
  if (results.peers) {
    out.push('## Other agents (optional, `--peers`)', '');
    if (results.peers.skipped) out.push(`Skipped: ${results.peers.skipped}.`, '');
    else {
      out.push(`Node 24 only. Versions: ${Object.entries(results.peers.versions).map(([k, v]) => `${k} ${v}`).join(', ')}. Each exports to the same sink (dd-trace to its agent API, counted in traces).`, '');
      out.push(...results.peers.blocks.map((b) => `${blockTable(b)}\n`));
      const names = Object.keys(results.peers.startup);
      out.push('Start-up:', '', startupTable([{ node: 'Node 24', ...results.peers.startup }], names), '');
    }
  }
  return `${out.join('\n')}\n`;
}

export function summary(results) {
  const lines = ['', `periscope overhead (${results.mode} run, ${results.elapsedSeconds} s)`];
  const blocks = [...results.blocks, ...(results.peers?.blocks ?? [])];
  for (const b of blocks) {
    const agg = aggregate(b);
    const bare = agg.bare.fig;
    lines.push(`${b.node} ${b.app}: bare ${fmtInt(bare.rps)} req/s (core ${Math.round(bare.busy * 100)} % busy), ${bare.cpu.toFixed(1)} µs CPU/req, p50/p99 @80% ${fmtMs(bare.p50_1)}/${fmtMs(bare.p99_1)}, RSS ${bare.rssIdle.toFixed(0)}/${bare.rssLoad.toFixed(0)} MB${agg.bare.onlyDisturbed ? ' ‡' : ''}`);
    for (const [name, a] of Object.entries(agg)) {
      if (name === 'bare') continue;
      if (a.invalid.length > 0) {
        lines.push(`  ${a.label}: INVALID (${a.invalid.join('; ')})`);
        continue;
      }
      const f = a.fig;
      const c = (k) => fmtCmp(FIGURES.find((x) => x.key === k), f[k]);
      lines.push(
        `  ${a.label}: ${c('rps')} req/s, ${c('cpu')} CPU/req (${c('cpu_0')} @50%), p99 ${c('p99_0')} @50% ${c('p99_1')} @80%${a.behind[1] ? ' †' : ''}, RSS ${c('rssIdle')} idle ${c('rssLoad')} loaded, ${f.spansPerReq === null ? '–' : f.spansPerReq.toFixed(2)} spans/req${a.onlyDisturbed ? ' ‡ (disturbed runs only)' : ''}`,
      );
    }
  }
  const runs = blocks.flatMap((b) => b.runs);
  const repeated = runs.filter((r) => r.attempts > 1).length;
  const disturbed = runs.filter((r) => r.disturbed).length;
  if (repeated + disturbed > 0) lines.push(`other processes on the machine: ${repeated} run(s) repeated, ${disturbed} of ${runs.length} still disturbed`);
  for (const s of results.startup) lines.push(`start-up ${s.node}: bare ${s.bare.toFixed(1)} ms, periscope +${(s.periscope - s.bare).toFixed(1)} ms`);
  if (results.footprint) lines.push(`install: ${results.footprint.packages} packages, ${results.footprint.installedMB.toFixed(1)} MB`);
  if (results.nodes.some((n) => n.label === TARGET_NODE)) lines.push('targets (‡: from disturbed runs only; §: bare was limited by the load generator, not judged):', ...targetLines(results).map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}
