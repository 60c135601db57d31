// `node --import periscope-agent/register app.js`: start periscope, or say why not in one line
// and let the app run uninstrumented. Nothing here may throw into the app's start-up.
//
// Only preflight (config and guards) is loaded up front. The agent and its ESM loader are imported
// when periscope will run: a process it stays off in (a worker thread, a package manager that
// NODE_OPTIONS reaches, OTEL_SDK_DISABLED=true) does not load them (bundled in their own chunk,
// scripts/build.mjs).
import { preflight } from './src/preflight.js';
import { W } from './src/warnings.js';

function fail(err: unknown): void {
  try {
    process.stderr.write(`periscope: ${W.START_FAILED} could not start, the app runs without it: ${err instanceof Error ? err.message : String(err)}\n`);
  } catch {
    // stderr is gone; stay silent.
  }
}

try {
  const pre = preflight();
  if ('config' in pre) {
    const { launchFromPreload } = await import('./agent.js');
    // Top-level await: Node finishes this preload before the app's first import is resolved.
    await launchFromPreload(pre.config);
  }
} catch (err) {
  fail(err);
}
