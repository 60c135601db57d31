// The build after `tsc`:
// 1. dist/register.js is bundled (our code, @opentelemetry/api, require-in-the-middle, shimmer
//    and import-in-the-middle's Hook; import-in-the-middle's registry and prom-client stay
//    packages), split where the preload imports the agent (below). Loading ~70 small ES modules
//    cost ~45 ms of start-up on Node 24; three files cost a few. The unbundled dist/src stays for
//    the public API.
// 2. dist/esm-sync-hooks.js becomes one file too: import-in-the-middle's synchronous ESM loader.
// 3. The CommonJS build of the public API, for apps that `require('periscope-agent')` on Node
//    versions without require(esm) (before 20.19 / 22.12). Every copy (bundle, ESM, CJS) finds
//    the running agent through a Symbol.for global, so any copy's shutdown() reaches it.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);
const { build, transform } = require('esbuild');

// Every builtin is taken through require() in the bundle. An ES import of a builtin makes Node
// build its ESM facade, which reads every export, lazy getters included: `import 'node:http'`
// loads the whole bundled undici on Node 22+ (http.WebSocket and friends), and node:crypto,
// node:https or node:perf_hooks facades load more of their own. On Node 24, `--import` of a file
// that only imports node:http and node:https cost +43 ms of start-up; require() of the same two,
// +16 ms. An app importing a builtin as ESM still gets our patched functions through
// syncBuiltinESMExports() (start.ts). The shim is CommonJS, so esbuild turns our named imports
// into property reads at the call site: nothing is read from a builtin before it is used.
// The CommonJS file left outside the bundle (import-in-the-middle's lib/register.js) is required
// the same way: an ES import of CommonJS has Node run cjs-module-lexer over its source to find
// the names it exports (~4 ms for import-in-the-middle on Node 24). It is the same module
// instance either way (one require cache), which import-in-the-middle's loader relies on.
const IITM_REGISTRY = 'import-in-the-middle/lib/register.js';
const viaRequire = {
  name: 'builtins-via-require',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!isBuiltin(args.path) && args.path !== IITM_REGISTRY) return undefined;
      return args.namespace === 'via-require' || args.kind === 'dynamic-import' ? { path: args.path, external: true } : { path: args.path, namespace: 'via-require' };
    });
    build.onLoad({ filter: /.*/, namespace: 'via-require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

// import-in-the-middle's Hook (its index.js) is bundled, for the one thing in it that start-up
// should not pay: `require('worker_threads')` at the top, for a MessageChannel that only
// createAddHookMessageChannel() (which periscope does not use) makes. Loading node:worker_threads
// costs ~2–4 ms of start-up on Node 24 (src/builtins.ts knows the main thread without it); here it
// becomes a require at that call. Its registry of hooks, `lib/register.js`, stays the published
// file, required by name: the loader's shims import that same file (one registry).
const IITM_WORKER_THREADS = "const { MessageChannel } = require('worker_threads')";
const IITM_CHANNEL = 'new MessageChannel()';
const iitmIndex = {
  name: 'iitm-index',
  setup(build) {
    build.onResolve({ filter: /^import-in-the-middle$/ }, () => ({ path: require.resolve('import-in-the-middle') }));
    build.onResolve({ filter: /^\.\/lib\/register$/ }, (args) =>
      /import-in-the-middle[\\/]index\.js$/.test(args.importer) ? { path: IITM_REGISTRY, namespace: 'via-require' } : undefined,
    );
    build.onLoad({ filter: /import-in-the-middle[\\/]index\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (source.split(IITM_WORKER_THREADS).length !== 2 || source.split(IITM_CHANNEL).length !== 2) {
        throw new Error(`build: import-in-the-middle's index.js no longer has one ${IITM_WORKER_THREADS} and one ${IITM_CHANNEL}; update scripts/build.mjs`);
      }
      const contents = source.replace(IITM_WORKER_THREADS, '').replace(IITM_CHANNEL, "new (require('worker_threads').MessageChannel)()");
      return { contents, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

// require-in-the-middle is bundled too, with its `debug` dependency replaced by a no-op: loading
// `debug` made Node build process.stderr and load node:tty at start-up (~7 ms of the ~8 ms
// require-in-the-middle cost on Node 24), even for apps with nothing to hook. What is lost is
// DEBUG=require-in-the-middle output from the preload; periscope's own OTEL_LOG_LEVEL=debug
// still names every module it hooks.
const quietDebug = {
  name: 'quiet-debug',
  setup(build) {
    build.onResolve({ filter: /^debug$/ }, (args) => ({ path: args.path, namespace: 'quiet-debug' }));
    build.onLoad({ filter: /.*/, namespace: 'quiet-debug' }, () => ({
      contents: 'module.exports = function createDebug() { const debug = function () {}; debug.enabled = false; return debug; };',
      loader: 'js',
    }));
  },
};

/** One ES module bundled over itself, with a `require` of its own for the shims above. */
const bundleInPlace = (file, options) =>
  build({
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    banner: { js: "import { createRequire as __periscopeCreateRequire } from 'node:module';\nconst require = __periscopeCreateRequire(import.meta.url);" },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.6',
    logLevel: 'warning',
    ...options,
  });

// register.js imports the agent dynamically (register.ts): with splitting, the agent and what
// only it needs become a chunk of their own, dist/register-agent-<hash>.js, loaded only in a
// process periscope runs in; code both use goes into a shared chunk, one instance of each module.
// The chunks stay in dist/, beside the externals they import by relative path.
for (const f of readdirSync('dist')) if (/^register-.*\.js$/.test(f)) rmSync(`dist/${f}`); // an earlier build's chunks
const registerBuild = await bundleInPlace('dist/register.js', {
  plugins: [iitmIndex, viaRequire, quietDebug],
  // The synchronous ESM hooks are their own file (2. below), imported only where they are used.
  external: ['prom-client', './esm-sync-hooks.js'],
  outfile: undefined,
  outdir: 'dist',
  splitting: true,
  chunkNames: 'register-[name]-[hash]',
  entryNames: '[name]',
  metafile: true,
});

// esbuild's __toESM, run for every `import ... from` of a CommonJS module (each builtin shim
// above, once per importing file), copies every export of the module into a new object as a
// getter: node:fs alone has ~100, imported by 7 files. That was ~8 ms of start-up on Node 24 on
// a slow machine. An object whose prototype is the module, with `default` set to it, reads the
// same live properties and costs nothing up front. Every CommonJS import in this bundle is in
// node mode (`default` is module.exports), which is all this replacement handles.
const TO_ESM = /^var __toESM = \(mod, isNodeMode, target\) => \(target = mod != null[\s\S]*?^\)\);\n/m;
/** Replaces the helper in the one file of `files` that defines it; checks the calls in all. */
function readThroughModules(...files) {
  let defined = 0;
  for (const file of files) {
    const bundled = readFileSync(file, 'utf8');
    const calls = bundled.match(/__toESM\(/g)?.length ?? 0;
    const nodeModeCalls = bundled.match(/__toESM\(require_\w+\(\), 1\)/g)?.length ?? 0;
    if (calls !== nodeModeCalls) throw new Error(`build: ${calls - nodeModeCalls} __toESM call(s) in ${file} not in node mode; the replacement below does not handle them`);
    if (!TO_ESM.test(bundled)) continue;
    defined++;
    writeFileSync(file, bundled.replace(TO_ESM, 'var __toESM = (mod) => __create(mod, { default: { value: mod, enumerable: true } });\n'));
  }
  if (defined !== 1) throw new Error(`build: esbuild's __toESM helper changed in ${files.join(', ')} (defined ${defined} times); update scripts/build.mjs`);
}
readThroughModules(...Object.keys(registerBuild.metafile.outputs));

// 2. dist/esm-sync-hooks.js: import-in-the-middle's synchronous loader
//    (register-hooks.mjs, create-hook.mjs, its lib/ and both lexers), imported by esm-loader.ts
//    only on the Node versions that use module.registerHooks. Its builtins (`url`, `util`, `fs`,
//    `path`, `module`) are taken through require() as in 1.
//    The loader locates itself from the `import.meta` it is given: shims it writes import
//    `lib/register.js` beside it, which must be the file `require('import-in-the-middle')` loaded
//    (one registry of hooks), and its own imports are recognised by that URL. Bundled, its
//    import.meta would be this file's, so it is given the URL of the published register-hooks.mjs.
const HOOK_META = 'createHook(import.meta)';
const selfLocating = {
  name: 'iitm-self-locating',
  setup(build) {
    build.onLoad({ filter: /import-in-the-middle[\\/]register-hooks\.mjs$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(HOOK_META)) throw new Error(`build: ${HOOK_META} not found in import-in-the-middle; update scripts/build.mjs`);
      const located = "createHook({ url: import.meta.resolve('import-in-the-middle/register-hooks.mjs') })";
      return { contents: source.replace(HOOK_META, located), loader: 'js' };
    });
  },
};
await bundleInPlace('dist/esm-sync-hooks.js', { plugins: [selfLocating, viaRequire] });
readThroughModules('dist/esm-sync-hooks.js');

// The preload's files lose their whitespace, once the steps above (which read esbuild's formatted
// output) are done. Node reads each ES module's source into a string and V8 scans every byte of
// it at start-up, functions not yet called included: whitespace was ~30 % of the ~380 kB, and
// dropping it took ~2–3 ms off start-up on Node 24.22.3 (node benchmarks/startup.mjs, 60 runs).
// Names and code shape are kept (no renaming, no syntax rewrites), so stack traces, profiles
// and benchmarks/instructions.mjs still name every function, and the hot paths run as written.
for (const file of [...Object.keys(registerBuild.metafile.outputs), 'dist/esm-sync-hooks.js']) {
  const { code } = await transform(readFileSync(file, 'utf8'), { minifyWhitespace: true, format: 'esm', target: 'node20.6', logLevel: 'warning' });
  writeFileSync(file, code);
}

// 3. The CommonJS build of the public API.
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.cjs.json'], { stdio: 'inherit' });
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
