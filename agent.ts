// What the preload (register.ts) imports when periscope will run in this process: the agent and
// its ESM loader. The bundle makes this file and all only it needs one chunk (scripts/build.mjs).
import type { PeriscopeConfig } from './src/config.js';
import { hookedModules, launch } from './src/start.js';
import { registerEsmLoader } from './esm-loader.js';

/** Starts the agent, then registers the ESM loader for the modules its hooks intercept. */
export async function launchFromPreload(config: PeriscopeConfig): Promise<void> {
  launch(config);
  await registerEsmLoader(hookedModules());
}
