// Whether periscope runs in this process at all, decided before the agent is loaded. The preload
// (register.ts) imports only this file and what it needs (config, diag, process-guard); the agent
// (start.ts, with node:http, the module hooks and all they load: ~20 ms of start-up on Node 24) is
// imported only when it will run. A process periscope stays off in (a worker thread, a package
// manager reached by NODE_OPTIONS, OTEL_SDK_DISABLED=true) pays for reading its configuration.
//
// The running agent lives on a Symbol.for global so a second copy of periscope (two --imports, the
// CJS and ESM builds, two installs) finds it and does nothing.
import { loadConfig, type PeriscopeConfig } from './config.js';
import { debug, setLogLevel, warn } from './diag.js';
import { reasonToStayOff } from './process-guard.js';

export const AGENT = Symbol.for('periscope.agent');

export interface Agent {
  readonly active: boolean;
  readonly config: PeriscopeConfig;
  shutdown(): Promise<void>;
}

export type Global = typeof globalThis & { [AGENT]?: Agent };

export function inactive(config: PeriscopeConfig): Agent {
  return { active: false, config, shutdown: async () => {} };
}

/**
 * The agent this process already has (running, or registered inactive here because periscope
 * stays off), or the configuration to start one with.
 */
export function preflight(): { readonly agent: Agent } | { readonly config: PeriscopeConfig } {
  const g = globalThis as Global;
  const existing = g[AGENT];
  if (existing !== undefined) {
    // A second copy of periscope has its own diag state: give it the level before it speaks.
    setLogLevel(loadConfig(process.env).config.logLevel);
    debug('already started in this process; the second start is a no-op');
    return { agent: existing };
  }
  const { config, warnings } = loadConfig(process.env);
  setLogLevel(config.logLevel);
  for (const w of warnings) warn(w.code, w.message);

  if (config.disabled) {
    debug('OTEL_SDK_DISABLED=true: nothing patched');
    return { agent: (g[AGENT] = inactive(config)) };
  }
  const offReason = reasonToStayOff(config.workerThreads);
  if (offReason !== undefined) {
    debug(`staying off: ${offReason}`);
    return { agent: (g[AGENT] = inactive(config)) };
  }
  return { config };
}
