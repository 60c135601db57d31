// The OTLP/protobuf encoder alone, in nanoseconds a span, for builds side by side: what a change
// to otlp-proto.ts, otlp-attributes.ts or proto-writer.ts does, without the network or the rest
// of a request (apps/encode-loop.mjs, one process per build and shape of service, pinned to one
// core, the builds' order alternated, medians).
//
//   node benchmarks/encode.mjs [dist dir …] [repetitions] [--node <binary>]
//
// dist dir: a build's dist/ inside this checkout (so its imports resolve), e.g. dist/base with an
// older build's dist/src copied into it; default dist. Repetitions default to 3.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start } from './lib/procs.mjs';
import { median } from './lib/measure.mjs';
import { parseCommon } from './lib/cli.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SHAPES = ['server', 'service', 'clients'];
const { node, rest } = parseCommon(process.argv.slice(2), HERE);
const reps = /^\d+$/.test(rest.at(-1) ?? '') ? Number(rest.pop()) : 3;
const builds = rest.length > 0 ? rest : ['dist'];

const results = new Map(builds.map((b) => [b, Object.fromEntries(SHAPES.map((s) => [s, []]))]));
for (let r = 0; r < reps; r++) {
  for (const build of r % 2 === 0 ? builds : [...builds].reverse()) {
    for (const shape of SHAPES) {
      const env = { ...process.env, ENCODE_DIST: resolve(build), SHAPE: shape };
      const proc = start(`encode ${build} ${shape}`, node, [join(HERE, 'apps', 'encode-loop.mjs')], { cpu: 0, env });
      const line = await proc.waitFor(/^\{.*\}$/m, { timeoutMs: 120_000 });
      await proc.stop(5_000);
      results.get(build)[shape].push(JSON.parse(line[0]).ns);
    }
  }
}
console.log(`ns a span (push and its share of take), medians of ${reps}, ${node}:`);
console.log(`  ${'build'.padEnd(24)} ${SHAPES.map((s) => s.padStart(8)).join(' ')}`);
for (const [build, byShape] of results) console.log(`  ${build.padEnd(24)} ${SHAPES.map((s) => String(median(byShape[s])).padStart(8)).join(' ')}`);
