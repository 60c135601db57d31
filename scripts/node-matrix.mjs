// The Node versions the integration suite also runs against, and the installer that puts each one under
// .cache/node/<version>/bin/node (git-ignored).
//
//   node scripts/node-matrix.mjs install [version…]   download what is missing (all pinned versions by default)
//   node scripts/node-matrix.mjs list                 print "version<TAB>path" for each valid installed version
//   node scripts/node-matrix.mjs versions             print the pinned versions, one a line
//
// Binaries come from the npm registry's node-<platform>-<arch> packages, which ship the official build as
// bin/node: the npm registry is the only download source our machines and CI reach.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE_DIR = join(ROOT, '.cache', 'node');

export const NODE_MATRIX = Object.freeze([
  { version: '22.15.0', why: 'has module.registerHooks, which import-in-the-middle cannot use yet' },
  { version: '22.23.5', why: 'latest 22.x' },
  { version: '24.22.3', why: 'latest 24.x' },
  { version: '26.12.1', why: 'latest 26.x' },
]);

const PACK_TIMEOUT_MS = 10 * 60_000;

export function nodeBinary(version) {
  return join(CACHE_DIR, version, 'bin', 'node');
}

// Returns null when `bin --version` prints exactly v<version>, else why not.
export function checkBinary(bin, version) {
  if (!existsSync(bin)) return 'not installed';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return `cannot run ${bin}: ${r.error.message}`;
  const got = r.stdout.trim();
  if (r.status !== 0 || got !== `v${version}`) {
    return `${bin} --version printed ${JSON.stringify(got)} (exit ${r.status}), expected v${version}`;
  }
  return null;
}

export function installedVersions() {
  return NODE_MATRIX.map((m) => m.version).filter((v) => checkBinary(nodeBinary(v), v) === null);
}

function packageName() {
  // Windows packages ship node.exe elsewhere; our machines are Linux.
  if (process.platform !== 'linux' && process.platform !== 'darwin') {
    throw new Error(`no matrix binaries for platform ${process.platform}`);
  }
  return `node-${process.platform}-${process.arch}`;
}

function log(msg) {
  process.stderr.write(`node-matrix: ${msg}\n`);
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) {
    const detail = (r.stderr || r.stdout || '').trim().split('\n').slice(-5).join('\n  ');
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n  ${detail}`);
  }
  return r.stdout;
}

function downloadOnce(version) {
  const spec = `${packageName()}@${version}`;
  // Work inside CACHE_DIR so the final rename stays on one filesystem.
  const tmp = join(CACHE_DIR, `.tmp-${version}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const out = run('npm', ['pack', spec, '--pack-destination', tmp, '--json', '--ignore-scripts', '--loglevel=error'], {
      cwd: tmp,
      timeout: PACK_TIMEOUT_MS,
    });
    const filename = JSON.parse(out)[0]?.filename;
    if (!filename) throw new Error(`npm pack ${spec} printed no filename`);
    run('tar', ['-xzf', join(tmp, filename), '-C', tmp, 'package/bin/node']);
    const extracted = join(tmp, 'package', 'bin', 'node');
    chmodSync(extracted, 0o755);
    const bad = checkBinary(extracted, version);
    if (bad) throw new Error(bad);
    const bin = nodeBinary(version);
    mkdirSync(dirname(bin), { recursive: true });
    renameSync(extracted, bin);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// Installs each version that is missing or broken; returns the versions that failed.
export function install(versions = NODE_MATRIX.map((m) => m.version)) {
  const failed = [];
  for (const version of versions) {
    const bin = nodeBinary(version);
    const bad = checkBinary(bin, version);
    if (bad === null) {
      log(`${version} present at ${bin}`);
      continue;
    }
    if (bad !== 'not installed') log(`${version} reinstalling: ${bad}`);
    const started = Date.now();
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        log(`${version} downloading ${packageName()}@${version}${attempt > 1 ? ' (retry)' : ''}`);
        downloadOnce(version);
        log(`${version} installed at ${bin} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
        break;
      } catch (err) {
        log(`${version} attempt ${attempt} failed: ${err.message}`);
        if (attempt === 2) failed.push(version);
      }
    }
  }
  return failed;
}

function main(argv) {
  const [cmd, ...rest] = argv;
  const pinned = NODE_MATRIX.map((m) => m.version);
  if (cmd === 'versions') {
    for (const v of pinned) process.stdout.write(`${v}\n`);
    return 0;
  }
  if (cmd === 'list') {
    for (const v of installedVersions()) process.stdout.write(`${v}\t${nodeBinary(v)}\n`);
    return 0;
  }
  if (cmd === 'install') {
    const unknown = rest.filter((v) => !pinned.includes(v));
    if (unknown.length) {
      log(`not in the matrix: ${unknown.join(', ')} (pinned: ${pinned.join(', ')})`);
      return 2;
    }
    const started = Date.now();
    const wanted = rest.length ? rest : pinned;
    const failed = install(wanted);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (failed.length) {
      log(`FAILED to install ${failed.join(', ')} (${secs}s)`);
      return 1;
    }
    log(`ready: ${wanted.join(', ')} (${secs}s)`);
    return 0;
  }
  process.stderr.write('usage: node scripts/node-matrix.mjs install [version…] | list | versions\n');
  return 2;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
