// The build after `tsc`:
// 1. dist/register.js becomes one bundled file (our code and @opentelemetry/api; the hook
//    libraries, shimmer and prom-client stay packages). Loading ~70 small ES modules cost ~45 ms of
//    start-up on Node 24; one file costs a few. The unbundled dist/src stays for the public API.
// 2. The CommonJS build of the public API, for apps that `require('periscope-agent')` on Node
//    versions without require(esm) (before 20.19 / 22.12). Every copy (bundle, ESM, CJS) finds
//    the running agent through a Symbol.for global, so any copy's shutdown() reaches it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { buildSync } = require('esbuild');

buildSync({
  entryPoints: ['dist/register.js'],
  outfile: 'dist/register.js',
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.6',
  external: ['import-in-the-middle', 'require-in-the-middle', 'shimmer', 'prom-client'],
  logLevel: 'warning',
});

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.cjs.json'], { stdio: 'inherit' });
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
