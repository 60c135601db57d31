// `node --import periscope-agent/register app.js`: start periscope, or say why not in one line
// and let the app run uninstrumented. Nothing here may throw into the app's start-up.
import { hookedModules, start } from './src/start.js';
import { registerEsmLoader } from './esm-loader.js';
import { W } from './src/warnings.js';

function fail(err: unknown): void {
  try {
    process.stderr.write(`periscope: ${W.START_FAILED} could not start, the app runs without it: ${err instanceof Error ? err.message : String(err)}\n`);
  } catch {
    // stderr is gone; stay silent.
  }
}

try {
  start();
  // Top-level await: Node finishes this preload before the app's first import is resolved.
  await registerEsmLoader(hookedModules()).catch(fail);
} catch (err) {
  fail(err);
}
