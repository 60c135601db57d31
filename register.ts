// `node --import periscope-agent/register app.js`: start periscope, or say why not in one line
// and let the app run uninstrumented. Nothing here may throw into the app's start-up.
import { start } from './src/start.js';
import { W } from './src/warnings.js';

try {
  start();
} catch (err) {
  try {
    process.stderr.write(`periscope: ${W.START_FAILED} could not start, the app runs without it: ${err instanceof Error ? err.message : String(err)}\n`);
  } catch {
    // stderr is gone; stay silent.
  }
}
