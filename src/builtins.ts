// Node builtins periscope needs only on rare paths, loaded on their first use rather than at
// start-up: node:zlib (gzip compression) and node:child_process (the synchronous export of a dying
// process) cost ~0.9 and ~0.8 ms of the preload's start-up on Node 24; node:cluster (the metrics
// of a cluster's workers) ~6 ms; node:crypto (ids where /dev/urandom cannot be read, the metrics
// endpoint's token check) ~7 ms; node:https (an https collector) is also the app's, see hooks.ts.
// And what can be known of builtins without loading them: whether one is loaded, whether this is
// the main thread.
import { createRequire } from 'node:module';
import type * as ChildProcess from 'node:child_process';
import type * as Cluster from 'node:cluster';
import type * as Crypto from 'node:crypto';
import type * as Https from 'node:https';
import type * as WorkerThreads from 'node:worker_threads';
import type * as Zlib from 'node:zlib';

// process.getBuiltinModule needs no resolution (Node 20.16+, 22.3+); before it, a require made
// from any absolute path finds builtins.
const load: (id: string) => unknown = typeof process.getBuiltinModule === 'function' ? (id) => process.getBuiltinModule(id) : createRequire('/');

export const zlib = (): typeof Zlib => load('node:zlib') as typeof Zlib;
export const childProcess = (): typeof ChildProcess => load('node:child_process') as typeof ChildProcess;
export const crypto = (): typeof Crypto => load('node:crypto') as typeof Crypto;
export const cluster = (): typeof Cluster.default => load('node:cluster') as typeof Cluster.default;
/** node:https, with node:tls and crypto: patched when first loaded (hooks.ts), ~10–15 ms on Node 24. */
export const https = (): typeof Https => load('node:https') as typeof Https;
export const workerThreads = (): typeof WorkerThreads => load('node:worker_threads') as typeof WorkerThreads;

/**
 * Whether a builtin has been loaded in this thread, from process.moduleLoadList (not in @types/node,
 * present on Node 20–26); undefined where Node does not say.
 */
export function builtinLoaded(id: string): boolean | undefined {
  return (process as { moduleLoadList?: readonly string[] }).moduleLoadList?.includes(`NativeModule ${id}`);
}

let mainThread: boolean | undefined;
/**
 * Whether this is the main thread, without loading node:worker_threads there (~2–4 ms of start-up
 * on Node 24, with internal/worker): a worker thread's bootstrap has always loaded it (Node 20–26),
 * so where it is not loaded this is the main thread. Where it is, it is asked.
 */
export function isMainThread(): boolean {
  mainThread ??= builtinLoaded('worker_threads') === false || workerThreads().isMainThread;
  return mainThread;
}
