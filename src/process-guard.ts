// Where the preload should stay off. NODE_OPTIONS reaches every node process in a container,
// including package managers that are not the app; and --import runs again in each worker thread.
import { basename } from 'node:path';
import { isMainThread, workerThreads } from './builtins.js';

// node-gyp is run by npm/yarn/pnpm to build native addons during an install. Yarn 2+ runs from the
// project's own copy, .yarn/releases/yarn-<version>.cjs (yarnPath in .yarnrc.yml).
const TOOLING = /(?:^|[\\/])(?:npm-cli|npx-cli|npm|npx|yarn|yarnpkg|pnpm|pnpx|corepack|node-gyp|yarn-\d[\w.-]*)(?:\.c?js|\.mjs)?$/;
const TOOLING_DIRS = /[\\/](?:npm|corepack|yarn|pnpm)[\\/](?:bin|dist)[\\/]/;

/**
 * pino's transports run in a worker started by thread-stream, which inherits the preload. Its
 * workerData is `{ filename, dataBuf, stateBuf, workerData: { $context: { threadStreamVersion } } }`
 * (`$context` in recent versions, the two SharedArrayBuffers in all). Tracing it would only trace
 * the log shipping itself, so periscope stays off there even with PERISCOPE_WORKER_THREADS=true.
 */
export function isThreadStreamWorker(data: unknown): boolean {
  if (data === null || typeof data !== 'object') return false;
  const d = data as { dataBuf?: unknown; stateBuf?: unknown; workerData?: { $context?: { threadStreamVersion?: unknown } } };
  if (typeof d.workerData?.$context?.threadStreamVersion === 'string') return true;
  return typeof SharedArrayBuffer === 'function' && d.dataBuf instanceof SharedArrayBuffer && d.stateBuf instanceof SharedArrayBuffer;
}

/** The reason periscope should not run in this process, or undefined to go ahead. */
export function reasonToStayOff(workerThreadsAllowed: boolean, argv: readonly string[] = process.argv): string | undefined {
  const script = argv[1];
  if (script !== undefined && (TOOLING.test(basename(script)) || TOOLING_DIRS.test(script))) {
    return `package-manager process (${basename(script)})`;
  }
  if (isMainThread()) return undefined;
  if (isThreadStreamWorker(workerThreads().workerData)) return 'pino transport worker (thread-stream)';
  if (!workerThreadsAllowed) return 'worker thread (set PERISCOPE_WORKER_THREADS=true to trace workers)';
  return undefined;
}
