// The one require hook and the one import hook. Both dispatch by module name to the
// instrumentations of the table, which never import the hook libraries themselves. They are
// installed only when an instrumentation of a third-party module is enabled: builtins
// (node:http) are patched in place and need neither.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hook as RequireHook } from 'require-in-the-middle';
import { Hook as ImportHook } from 'import-in-the-middle';
import { debug } from './diag.js';
import { reportInternal } from './report.js';
import type { AgentServices } from './instrumentations/types.js';

/** An instrumentation of third-party modules. */
export interface ModuleInstrumentation {
  /** The name used by OTEL_NODE_ENABLED/DISABLED_INSTRUMENTATIONS. */
  readonly name: string;
  /**
   * Module names to intercept: package names (`express`) or files inside one as require-in-the-middle
   * names them, without `.js` or a trailing `/index` (`express/lib/router/layer`, `express/lib/router`).
   */
  readonly modules: readonly string[];
  /**
   * Patch what the module exports; `version` is the package's, when known. Return the exports to
   * use (usually the same object). Called once per loaded copy of the module from each hook, so it
   * must be idempotent: a CommonJS package imported from ESM reaches both hooks.
   */
  patch(exports: any, moduleName: string, version: string | undefined): any;
  /** Called once at start, before any module loads, with the agent's services. */
  setup?(services: AgentServices): void;
}

function packageVersion(baseDir: string | undefined): string | undefined {
  if (!baseDir) return undefined;
  try {
    return (JSON.parse(readFileSync(join(baseDir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Installs both hooks for the table; returns the module names they intercept. */
export function installHooks(table: readonly ModuleInstrumentation[]): string[] {
  if (table.length === 0) return [];
  const byModule = new Map<string, ModuleInstrumentation[]>();
  for (const inst of table) {
    for (const m of inst.modules) {
      const list = byModule.get(m);
      if (list === undefined) byModule.set(m, [inst]);
      else list.push(inst);
    }
  }
  const names = [...byModule.keys()];
  // An instrumentation may only listen on diagnostics channels (fastify): nothing to hook.
  if (names.length === 0) return [];
  const dispatch = (exports: any, name: string, baseDir: string | undefined | void): any => {
    let result = exports;
    for (const inst of byModule.get(name) ?? []) {
      try {
        result = inst.patch(result, name, packageVersion(baseDir ?? undefined)) ?? result;
      } catch (err) {
        reportInternal(`instrumentation ${inst.name} (${name})`, err);
      }
    }
    return result;
  };
  new RequireHook(names, { internals: true }, dispatch);
  // Runs for ESM imports once the loader (esm-loader.ts, registered by the preload) wraps them;
  // the loader is registered with an include-list of exactly these names.
  new ImportHook(names, { internals: true }, (exports, name, baseDir) => {
    dispatch(exports, name, baseDir);
  });
  debug(`module hooks installed for: ${names.join(', ')}`);
  return names;
}
