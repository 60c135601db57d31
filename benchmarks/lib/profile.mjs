// --profile: periscope-full on hello-world once under --cpu-prof, then the top 15 functions by
// self time from the .cpuprofile (Chrome DevTools' format: nodes with callFrames, samples with
// time deltas).
import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startLoad } from './load.mjs';
import { startSink } from './sink.mjs';
import { start } from './procs.mjs';

const TOP = 15;

/** Self time per function (name + url + line), largest first: [{ name, where, ms, share }]. */
export function selfTimes(profile, root) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byKey = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i + 1] is the time spent in samples[i] (as DevTools reads it).
    const us = profile.timeDeltas[i + 1] ?? 0;
    const { callFrame } = nodes.get(profile.samples[i]);
    const url = callFrame.url.startsWith('file://') ? relative(root, fileURLToPath(callFrame.url)) : callFrame.url;
    const where = url ? `${url}:${callFrame.lineNumber + 1}` : '';
    const key = `${callFrame.functionName}\0${where}`;
    const e = byKey.get(key) ?? { name: callFrame.functionName || '(anonymous)', url, where, us: 0 };
    e.us += us;
    byKey.set(key, e);
    // Shares are of the time the process was doing something.
    if (callFrame.functionName !== '(idle)') total += us;
  }
  return [...byKey.values()].sort((a, b) => b.us - a.us).map((e) => ({ ...e, ms: e.us / 1000, share: e.us / total }));
}

export async function profile({ node, register, here, periscopeConfigs, serverCpu, loadCpu }) {
  const root = join(here, '..');
  const dir = join(here, 'profiles');
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const sink = await startSink({ cpu: loadCpu });
  const load = await startLoad({ cpu: loadCpu });
  const full = periscopeConfigs(sink.url).find((c) => c.name === 'full');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...full.env };
  const args = [`--cpu-prof`, `--cpu-prof-dir=${dir}`, '--import', pathToFileURL(join(here, 'lib', 'exit-on-sigusr2.mjs')).href, '--import', register, join(here, 'apps', 'hello.js')];
  const server = start('profiled hello', node, args, { cpu: serverCpu, env });
  try {
    const url = `http://127.0.0.1:${(await server.waitFor(/listening (\d+)/))[1]}/`;
    await load.phase({ url, connections: 32, seconds: 1 });
    const sat = await load.phase({ url, connections: 32, seconds: 5 });
    server.child.kill('SIGUSR2');
    await Promise.race([server.exited, new Promise((r) => setTimeout(r, 10_000))]);
    const received = await sink.take();
    const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f)).sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs)[0];
    if (!file) throw new Error(`no .cpuprofile appeared in ${dir}: ${server.stderr().slice(-1000)}`);
    const rows = selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')), root).filter((r) => r.name !== '(idle)');
    const isOurs = (r) => r.url.startsWith('dist/') || r.url.includes('node_modules/');
    const byFile = new Map();
    for (const r of rows.filter(isOurs)) byFile.set(r.url, (byFile.get(r.url) ?? 0) + r.share);
    const pct = (share) => `${(share * 100).toFixed(1)} %`;
    const print = (line) => process.stdout.write(`${line}\n`);
    print(`\nperiscope full, hello-world, ${node}: ${Math.round(sat.rps)} req/s for 5 s, ${received.spans} spans received`);
    print(`profile: ${join(dir, file)}`);
    print(`self time, shares of the time not idle; * = periscope or its dependencies (${pct([...byFile.values()].reduce((a, b) => a + b, 0))} in all)\n`);
    for (const r of rows.slice(0, TOP)) print(`${r.ms.toFixed(1).padStart(8)} ms ${pct(r.share).padStart(7)} ${isOurs(r) ? '*' : ' '} ${r.name} ${r.where}`);
    print('\nperiscope by file:');
    for (const [url, share] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 8)) print(`${pct(share).padStart(7)}  ${url}`);
  } finally {
    await server.stop(2000);
    await load.stop();
    await sink.stop();
  }
}
