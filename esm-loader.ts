// Registers import-in-the-middle's loader for ESM imports of the modules we instrument, and only
// those (an include-list: wrapping every module is the most reported way agents break ESM apps).
// Node's synchronous module.registerHooks is used where import-in-the-middle supports it
// (22.22.3+, 24.11.1+, 26+); elsewhere module.register and its loader thread. Node 26 deprecates
// module.register, but there the synchronous path is always taken, so its warning never shows.
import { register as registerAsync } from 'node:module';
// import-in-the-middle's own version test; a module without imports, bundled into the preload.
import { supportsSyncHooks } from 'import-in-the-middle/supports-sync-hooks.mjs';

export async function registerEsmLoader(include: readonly string[]): Promise<void> {
  if (include.length === 0) return;
  if (supportsSyncHooks()) (await import('./esm-sync-hooks.js')).register({ include: [...include] });
  else registerAsync('import-in-the-middle/hook.mjs', import.meta.url, { data: { include: [...include] } });
}
