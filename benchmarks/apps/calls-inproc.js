// The proxy app's outgoing calls without its server: each iteration makes one http.request and
// then one fetch to UPSTREAM_URL, as proxy.js's handler does, eight iterations in flight. For
// instructions.mjs --app calls: what periscope's CLIENT spans and header injection cost,
// counted, where proxy.js's figures in `npm run bench` move by ±0.1× from run to run.
//   REQUESTS iterations (default 20000) after WARMUP (default 4000).
// Prints one line: {"requests","warmup","cpuUs","wallUs"}, the times for the measured part.
import { viaFetch, viaHttp } from './upstream-calls.js';

const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8080/');
const WARMUP = Number(process.env.WARMUP ?? 4_000);
const REQUESTS = Number(process.env.REQUESTS ?? 20_000);
const IN_FLIGHT = 8;

async function iterations(n) {
  const lanes = [];
  for (let l = 0; l < IN_FLIGHT; l++) {
    lanes.push(
      (async () => {
        for (let i = l; i < n; i += IN_FLIGHT) {
          await viaHttp(upstream);
          await viaFetch(upstream);
        }
      })(),
    );
  }
  await Promise.all(lanes);
}

await iterations(WARMUP);
const t0 = process.hrtime.bigint();
const c0 = process.cpuUsage();
await iterations(REQUESTS);
const cpu = process.cpuUsage(c0);
console.log(JSON.stringify({ requests: REQUESTS, warmup: WARMUP, cpuUs: cpu.user + cpu.system, wallUs: Number(process.hrtime.bigint() - t0) / 1000 }));
// Periscope flushes what is queued at exit, as it would on any exit.
setImmediate(() => process.exit(0));
