// A quick A/B of configurations on one app, with the same phases and readings as `npm run bench`,
// printed one line per run and never written anywhere, the order of the configurations rotated
// each repetition. For trying a change, not for publishing.
//
//   node benchmarks/ab.mjs <app> <config>[,<config>…] [repetitions] [--node <binary>] [--register <file>] [--sleeping-load]
//
// app: hello | proxy | express. config: bare | off | full, optionally with extra environment,
// e.g. `off:OTEL_PROPAGATORS=none;OTEL_NODE_DISABLED_INSTRUMENTATIONS=undici`. The fixed rates
// are 50 % and 80 % of the first run's saturated rate. --register runs every configuration on
// another build of the preload (an older build's dist/register*.js and dist/esm-sync-hooks.js
// copied into a directory of their own under dist/, e.g. dist/base/register.js, so it finds the
// same packages); `<config>@<file>` runs that configuration alone on it, so that two builds
// alternate in one run: `full@dist/base/register.js,full`.
// WARMUP=<seconds> lengthens the saturated warm-up (default 1; `npm run bench` uses 8 for proxy).
// `burn` is a control, not periscope: bare plus 3 µs of CPU a request (`burn:BENCH_BURN_US=1` for
// another amount), to see what the harness makes of a known cost. --sleeping-load lets the load
// generator sleep while it waits in the saturated phases, as it did before run S (load-worker.mjs).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runServer } from './lib/scenario.mjs';
import { loaderSleeps, startLoad } from './lib/load.mjs';
import { startSink } from './lib/sink.mjs';
import { start } from './lib/procs.mjs';
import { controlConfig, periscopeConfigs } from './lib/configs.mjs';
import { parseCommon, parseConfigSpec } from './lib/cli.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const APPS = { hello: '/', proxy: '/', express: '/users/42' };
const SERVER_CPU = 0;
const LOAD_CPU = 1;

const { node, register, rest } = parseCommon(process.argv.slice(2), HERE);
const sleepingLoad = rest.includes('--sleeping-load');
const [app, specs, reps = '2'] = rest.filter((a) => a !== '--sleeping-load');
if (!(app in APPS) || !specs) {
  console.error('usage: node benchmarks/ab.mjs <hello|proxy|express> <bare|off|full|burn[:ENV=V;…][@<register file>]>,… [repetitions] [--node <binary>] [--register <file>] [--sleeping-load]');
  process.exit(2);
}

const sink = await startSink({ cpu: LOAD_CPU });
const load = await startLoad({ cpu: LOAD_CPU });
const BASE = Object.fromEntries([...periscopeConfigs(sink.url, register), controlConfig()].map((c) => [c.name, c]));

const appEnv = {};
let upstream;
try {
  if (app === 'proxy') {
    upstream = start('upstream', process.execPath, [join(HERE, 'apps', 'upstream.js')], { cpu: LOAD_CPU });
    appEnv.UPSTREAM_URL = `http://127.0.0.1:${(await upstream.waitFor(/listening (\d+)/))[1]}/`;
  }
  let rates = null;
  const order = specs.split(',');
  for (let r = 0; r < Number(reps); r++) {
    // Rotated each repetition, as in `npm run bench`: no configuration always runs first, or
    // always right after the same other one.
    const shift = r % order.length;
    for (const spec of [...order.slice(shift), ...order.slice(0, shift)]) {
      const [configSpec, file] = spec.split('@');
      const { name, env: extra } = parseConfigSpec(configSpec);
      const base = file === undefined ? BASE[name] : periscopeConfigs(sink.url, resolve(file)).find((c) => c.name === name);
      if (base === undefined) throw new Error(`unknown configuration ${name}`);
      const env = { ...base.env, ...extra };
      const out = await runServer({
        node,
        appFile: join(HERE, 'apps', `${app}.js`),
        path: APPS[app],
        config: { ...base, env },
        env: appEnv,
        load,
        sink,
        durations: { settleMs: 500, warmup: Number(process.env.WARMUP ?? 1), saturated: 4, fixed: 2 },
        rates,
        cpu: SERVER_CPU,
        loaderSleeps: sleepingLoad || loaderSleeps(app),
      });
      rates ??= out.rates;
      const fixed = out.fixed.map((f) => `p50/p99 @${f.rate}: ${f.p50}/${f.p99} ms, ${f.cpuUsPerReq?.toFixed(1)} µs CPU/req`).join(', ');
      const t = out.sat.threadsUsPerReq;
      console.log(`${spec}: ${Math.round(out.sat.rps)} req/s, ${out.sat.cpuUsPerReq.toFixed(1)} µs CPU/req (main ${t.mainUser.toFixed(1)} user + ${t.mainSystem.toFixed(1)} system, other threads ${t.others.toFixed(1)}), ${fixed}, RSS ${out.rssIdle.toFixed(0)}/${out.rssLoad.toFixed(0)} MB, ${out.spansPerReq?.toFixed(2)} spans/req${out.invalid ? `, INVALID: ${out.invalid}` : ''}`);
    }
  }
} finally {
  await load.stop();
  await sink.stop();
  await upstream?.stop(1000);
}
