// Where the metrics are served from depends on the kind of process. One metrics port per host:
// - a plain process, or a cluster primary: the endpoint itself;
// - a cluster worker: no listener (in a worker, listen(9464) would silently share the
//   primary's handle and scrapes would land on a random worker); the primary collects from it
//   over IPC (cluster.ts);
// - a worker thread (only with PERISCOPE_WORKER_THREADS=true): no listener; its requests are
//   traced, its metrics stay local to the thread.
import type { PeriscopeConfig } from '../config.js';
import { cluster, isMainThread } from '../builtins.js';
import { debug } from '../diag.js';
import { startMetricsEndpoint } from './endpoint.js';
import type { MetricsRegistry } from './registry.js';
import { answerPrimary, collectFromWorkers } from './cluster.js';

export function startMetrics(config: PeriscopeConfig, registry: MetricsRegistry, ownServers: WeakSet<object>): void {
  if (!isMainThread()) {
    debug('worker thread: no metrics endpoint here (one metrics port per process)');
    return;
  }
  // A cluster worker always has an IPC channel, and Node has loaded node:cluster in it before any
  // preload runs; checking the channel first leaves node:cluster unloaded everywhere else.
  if (process.channel !== undefined && cluster().isWorker) {
    answerPrimary(registry);
    debug('cluster worker: metrics are served by the primary');
    return;
  }
  const { host, port, path, token } = config.metrics;
  startMetricsEndpoint({ host, port, path, token, ownServers, collect: () => collectFromWorkers(registry) });
}
