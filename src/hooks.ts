// The one require hook and the one import hook. Both dispatch by module name to the
// instrumentations of the table, which never import the hook libraries themselves. They are
// installed only when an instrumentation of a third-party module is enabled: builtins
// (node:http) are patched in place and need neither. And the hooks that patch node:https when
// the app first asks for it (below).
import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { join } from 'node:path';
import type * as Https from 'node:https';
import { Hook as RequireHook } from 'require-in-the-middle';
import { Hook as ImportHook } from 'import-in-the-middle';
import { debug } from './diag.js';
import { reportInternal } from './report.js';
import { wrap } from './instrumentations/patch.js';
import { builtinLoaded, https as loadHttpsModule } from './builtins.js';
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

// --- node:https, patched when it is first asked for ----------------------------------------------
//
// Loading node:https (with node:tls and the crypto it needs) was ~10–15 ms of the preload's
// start-up on Node 24, for apps that may never use it. Where Node has module.registerHooks
// (22.15+, 23.5+), one resolve hook sees every way to it: require() and import, static and
// dynamic, CommonJS and ESM, with `node:` or without; process.getBuiltinModule, the one way that
// resolves nothing, is wrapped. The patches are made before Node hands the module over, and
// syncBuiltinESMExports() before an ESM facade reads its exports. Without registerHooks (Node
// 20), or when something loaded node:https before periscope started, it is patched at start-up.

type HttpsPatch = (https: typeof Https) => void;
let httpsPatches: HttpsPatch[] = [];
let httpsModule: typeof Https | undefined;
let httpsPending = false;

/** Runs `patch` on node:https now if it is loaded, else when it first is. */
export function onHttps(patch: HttpsPatch): void {
  if (httpsModule !== undefined) applyHttpsPatch(httpsModule, patch);
  else httpsPatches.push(patch);
}

function applyHttpsPatch(https: typeof Https, patch: HttpsPatch): void {
  try {
    patch(https);
  } catch (err) {
    reportInternal('node:https instrumentation', err);
  }
}

function loadHttps(): void {
  httpsPending = false;
  const https = loadHttpsModule();
  httpsModule = https;
  const patches = httpsPatches;
  httpsPatches = [];
  for (const patch of patches) applyHttpsPatch(https, patch);
  nodeModule.syncBuiltinESMExports();
  debug('node:https loaded: patched');
}

const isHttps = (id: unknown): boolean => id === 'https' || id === 'node:https';

/**
 * After the instrumentations are enabled: patch node:https now, or arm the hooks that will.
 * Returns when, for the debug start-up line.
 */
export function patchHttpsWhenLoaded(): string | undefined {
  if (httpsPatches.length === 0) return undefined;
  // Not in @types/node 20: module.registerHooks (22.15+).
  const registerHooks = (nodeModule as { registerHooks?: RegisterHooks }).registerHooks;
  const loaded = builtinLoaded('https') ?? true;
  if (typeof registerHooks !== 'function' || typeof process.getBuiltinModule !== 'function' || loaded) {
    loadHttpsGuarded();
    return 'node:https at start-up';
  }
  httpsPending = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (httpsPending && isHttps(specifier)) loadHttpsGuarded();
      return nextResolve(specifier, context);
    },
  });
  wrap(process, 'getBuiltinModule', (original: (id: string) => unknown) =>
    function getBuiltinModule(this: unknown, id: string) {
      if (httpsPending && isHttps(id)) loadHttpsGuarded();
      return Reflect.apply(original, this, arguments);
    },
  );
  return 'node:https when first loaded';
}

function loadHttpsGuarded(): void {
  try {
    loadHttps();
  } catch (err) {
    reportInternal('node:https instrumentation', err);
  }
}

type RegisterHooks = (hooks: {
  resolve(specifier: string, context: object, nextResolve: (specifier: string, context: object) => unknown): unknown;
}) => unknown;
