// Start-up of the preload against `node -e 0`, as `npm run bench` measures it, for comparing
// builds: `node --import <file> -e 0` for each file, alternating with bare, pinned to core 0,
// medians. To compare builds, copy an older build's dist/register*.js and dist/esm-sync-hooks.js
// into a directory of their own under dist/ (dist/base/, so they find the same packages).
//
//   node benchmarks/startup.mjs [file,…] [runs] [--node <binary>]
//
// Default: dist/register.js, 30 runs.
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommon } from './lib/cli.mjs';
import { startupCommand, startupTimes } from './lib/measure.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { node, register, rest } = parseCommon(process.argv.slice(2), HERE);
const [files = register, runs = '30'] = rest;
const commands = { bare: startupCommand(node) };
for (const f of files.split(',')) commands[relative(join(HERE, '..'), resolve(f))] = startupCommand(node, { args: ['--import', resolve(f)] });
const t = startupTimes(commands, { runs: Number(runs), cpu: 0 });
console.log(`${node}, medians of ${runs} runs:`);
for (const [name, ms] of Object.entries(t)) console.log(`  ${name.padEnd(30)} ${ms.toFixed(1).padStart(6)} ms${name === 'bare' ? '' : `  +${(ms - t.bare).toFixed(1)} ms`}`);
