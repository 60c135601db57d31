// The `npm test` runner: one `node --test` run, on this machine's Node, over every suite that can run here,
// then a line naming each suite that could not run and why.
//
//   node scripts/test.mjs [--suite unit|integration|resilience|prometheus|deploy|frameworks|all] [--node <path>] [--reporter <name>]
//
// --node <path> runs the integration and frameworks suites only, with PERISCOPE_TEST_NODE=<path>: the runner stays on this Node,
// the fixture apps it spawns run on <path> (scripts/test-all.sh does this for each version in the matrix).
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, readdirSync } from 'node:fs';
import { delimiter, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NODE_MATRIX, ROOT, installedVersions, nodeBinary } from './node-matrix.mjs';

const SUITES = ['unit', 'integration', 'resilience', 'prometheus', 'deploy', 'frameworks'];
const NODE_SUITES = ['integration', 'frameworks']; // the suites --node runs
const USAGE = 'usage: node scripts/test.mjs [--suite unit|integration|resilience|prometheus|deploy|frameworks|all] [--node <path>] [--reporter <name>]';

function fail(msg, code = 2) {
  process.stderr.write(`test: ${msg}\n`);
  process.exit(code);
}

function testFiles(suite) {
  // Node 20's --test does not expand globs, so test/<suite>/*.test.js is listed here.
  const dir = join(ROOT, 'test', suite);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => `test/${suite}/${f}`);
}

// Same answer as `which`, without depending on the which binary being installed.
function onPath(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

// A test file may name the commands it needs in a `// needs: promtool amtool` line near its top.
function needs(file) {
  const m = /^\/\/ needs: (.+)$/m.exec(readFileSync(join(ROOT, file), 'utf8').slice(0, 500));
  return m ? m[1].trim().split(/\s+/) : [];
}

// The frameworks suite needs each fixture folder's own `npm ci` (scripts/test-all.sh runs them).
function uninstalledFrameworkFixtures() {
  const dir = join(ROOT, 'fixtures', 'frameworks');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'package-lock.json')) && !existsSync(join(dir, d, 'node_modules', '.package-lock.json')))
    .map((d) => `fixtures/frameworks/${d}`);
}

function nodeVersion(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

let opts;
try {
  ({ values: opts } = parseArgs({
    options: { suite: { type: 'string' }, node: { type: 'string' }, reporter: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (err) {
  fail(`${err.message}\n${USAGE}`);
}
if (opts.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (opts.suite !== undefined && opts.suite !== 'all' && !SUITES.includes(opts.suite)) fail(`unknown suite ${opts.suite}\n${USAGE}`);
if (opts.node !== undefined && opts.suite !== undefined && !NODE_SUITES.includes(opts.suite)) {
  fail(`--node runs the ${NODE_SUITES.join(' and ')} suites only; drop --suite ${opts.suite}`);
}

const env = { ...process.env };
if (opts.node !== undefined) {
  const bin = resolve(opts.node);
  const version = nodeVersion(bin);
  if (!version) fail(`--node ${opts.node}: cannot run ${bin} --version`, 1);
  env.PERISCOPE_TEST_NODE = bin;
  process.stdout.write(`# ${NODE_SUITES.join(' and ')} suites: children run on node ${version} (${bin})\n`);
}

const wanted = opts.node !== undefined ? (opts.suite !== undefined ? [opts.suite] : NODE_SUITES) : !opts.suite || opts.suite === 'all' ? SUITES : [opts.suite];
const files = [];
const skipped = [];
let failed = false;
let anyFound = false;

for (const suite of wanted) {
  const found = testFiles(suite);
  if (found.length === 0) continue; // a suite with no tests yet is not worth a line
  anyFound = true;
  if (suite === 'prometheus') {
    const missing = ['prometheus', 'promtool'].filter((cmd) => !onPath(cmd));
    if (missing.length) {
      skipped.push(`prometheus — ${missing.join(' and ')} not found on PATH (npm run test:all installs it)`);
      continue;
    }
  }
  if (suite === 'frameworks') {
    const missing = uninstalledFrameworkFixtures();
    if (missing.length) {
      skipped.push(`frameworks — ${missing.join(', ')} not installed (npm run test:all installs them with npm ci --prefix <folder>)`);
      continue;
    }
  }
  if (suite !== 'unit' && !existsSync(join(ROOT, 'dist', 'register.js'))) {
    // Not a skip: these tests exist and cannot pass, so the run fails.
    process.stderr.write(`test: the ${suite} suite needs dist/register.js; run npm run build first\n`);
    failed = true;
    continue;
  }
  if (suite === 'integration' && opts.node === undefined) {
    const have = installedVersions();
    const missing = NODE_MATRIX.map((m) => m.version).filter((v) => !have.includes(v));
    skipped.push(
      missing.length
        ? `node matrix — ${missing.join(', ')} not installed under .cache/node (npm run test:all installs and runs it)`
        : `node matrix — not part of npm test (npm run test:all runs it; one version: node scripts/test.mjs --node ${relative(ROOT, nodeBinary(have[0]))})`,
    );
  }
  for (const file of found) {
    const missing = needs(file).filter((cmd) => !onPath(cmd));
    if (missing.length === 0) files.push(file);
    else skipped.push(`${file.slice('test/'.length)} — ${missing.join(' and ')} not found on PATH (npm run test:all installs them)`);
  }
}

let status = 0;
if (files.length > 0) {
  const args = ['--test', '--test-concurrency=2'];
  if (opts.reporter !== undefined) args.push(`--test-reporter=${opts.reporter}`);
  args.push(...files);
  status = await new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
    child.on('error', (err) => {
      process.stderr.write(`test: cannot start node --test: ${err.message}\n`);
      done(1);
    });
    child.on('close', (code, signal) => done(signal ? 1 : (code ?? 1)));
  });
} else if (!anyFound) {
  process.stdout.write(`# no test files in ${wanted.map((s) => `test/${s}/`).join(', ')}\n`);
}

for (const line of skipped) process.stdout.write(`skipped suite: ${line}\n`);
process.exitCode = status !== 0 || failed ? 1 : 0;
