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
const { build } = require('esbuild');

// `import http from 'node:http'` in an ES module makes Node build node:http's ESM facade, which
// reads every export, lazy getters included: on Node 22+ that loads the whole bundled undici
// (http.WebSocket and friends), ~8 ms of start-up for an app that never touches it. The bundle
// takes node:http through require() instead; an app importing it as ESM still gets our patched
// functions through syncBuiltinESMExports() (start.ts).
const viaRequire = {
  name: 'builtins-via-require',
  setup(build) {
    // Default imports only (src never imports node:http by name or as a namespace).
    build.onResolve({ filter: /^node:http$/ }, (args) => (args.namespace === 'via-require' ? { path: args.path, external: true } : { path: args.path, namespace: 'via-require' }));
    build.onLoad({ filter: /.*/, namespace: 'via-require' }, (args) => ({ contents: `export default require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

await build({
  entryPoints: ['dist/register.js'],
  plugins: [viaRequire],
  banner: { js: "import { createRequire as __periscopeCreateRequire } from 'node:module';\nconst require = __periscopeCreateRequire(import.meta.url);" },
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
