// Where a request's CPU goes, without the network: apps/hello-inproc.js run under configurations
// that add one part of periscope at a time, alternated, repeated, medians. The differences
// between neighbours are the parts' costs:
//   bare       the app alone
//   traced     periscope with the sampler off: instrumentation, context, metrics; no span recorded
//   recorded   every span recorded and encoded into the queue, none sent before the measurement ends
//   full       every span recorded, encoded and sent to the sink over loopback (as `npm run bench`)
// The load generator and the kernel's share of the app's own responses are left out, so on a noisy
// machine two builds can be told apart here when the network benchmark's spread hides them. The
// published figures come from `npm run bench`.
//
//   node benchmarks/hotpath.mjs [config,…] [repetitions] [--node <binary>] [--register <file>]
//
// config: one of the above, or bare | off | full of configs.mjs with extra environment as in ab.mjs
// (`full:OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2048`), optionally `@<preload file>` to compare another
// build (`recorded,recorded@dist/base/register.js`, the old build's dist/register*.js and
// dist/esm-sync-hooks.js copied into dist/base/). Default: bare,traced,recorded,full, 5 repetitions.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSink } from './lib/sink.mjs';
import { start } from './lib/procs.mjs';
import { inProcessConfig } from './lib/configs.mjs';
import { median } from './lib/measure.mjs';
import { parseCommon } from './lib/cli.mjs';
import { DEFAULTS } from '../dist/src/config.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER_CPU = 0;
const SINK_CPU = 1;

const { node, register, rest } = parseCommon(process.argv.slice(2), HERE);
const [specs = 'bare,traced,recorded,full', reps = '5'] = rest;
const names = specs.split(',');

const sink = await startSink({ cpu: SINK_CPU });
const results = new Map(names.map((n) => [n, []]));
const invalid = [];
try {
  for (let r = 0; r < Number(reps); r++) {
    // Alternate the order, as the network benchmark does, so a drift in the machine's speed
    // does not always land on the same configuration.
    for (const spec of r % 2 === 0 ? names : [...names].reverse()) {
      const { base, env } = inProcessConfig(spec, sink.url, register);
      const proc = start(spec, node, [...base.args, join(HERE, 'apps', 'hello-inproc.js')], { cpu: SERVER_CPU, env });
      const line = await proc.waitFor(/^\{.*\}$/m, { timeoutMs: 180_000 });
      await proc.stop(10_000);
      const { requests, warmup, cpuUs } = JSON.parse(line[0]);
      results.get(spec).push(cpuUs / requests);
      const spans = base.expectSpans ? (await sink.take()).spans : undefined;
      console.log(`${spec}: ${(cpuUs / requests).toFixed(2)} µs CPU a request${spans === undefined ? '' : `, ${spans} spans received`}`);
      // Like the network benchmark's INVALID: a configuration that should export every request's
      // span and did not is not reported as fast. The app ends with process.exit(), which sends
      // again the batch whose answer had not come yet (at-least-once): up to one batch more is right.
      const expected = !base.expectSpans || env.OTEL_TRACES_SAMPLER === 'always_off' ? 0 : warmup + requests;
      const resent = expected === 0 ? 0 : Number(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ?? DEFAULTS.bspMaxExportBatchSize);
      if (base.expectSpans && (spans < expected || spans > expected + resent)) {
        invalid.push(`${spec}: the sink received ${spans} spans, not ${expected}${resent ? ` to ${expected + resent}` : ''}`);
      }
    }
  }
} finally {
  await sink.stop();
}
console.log(`\nmedians of ${reps}, ${node}:`);
let previous;
for (const [spec, values] of results) {
  const m = median(values);
  const step = previous === undefined ? '' : `, ${m - previous >= 0 ? '+' : ''}${(m - previous).toFixed(2)} µs over the line above`;
  console.log(`  ${spec.padEnd(10)} ${m.toFixed(2)} µs (range ${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})${step}`);
  previous = m;
}
if (invalid.length > 0) {
  console.log(`\nINVALID:\n  ${invalid.join('\n  ')}`);
  process.exitCode = 1;
}
