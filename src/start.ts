// Wires the steps in order: config and guards (preflight.ts) → tracing pipeline → API globals →
// instrumentations → lifecycle.
import { syncBuiltinESMExports } from 'node:module';
import { context, propagation, trace } from '@opentelemetry/api';
import { instrumentationEnabled, type PeriscopeConfig } from './config.js';
import { debug, debugEnabled, warn } from './diag.js';
import { W } from './warnings.js';
import { VERSION } from './version.js';
import { AGENT, inactive, preflight, type Agent, type Global } from './preflight.js';
import { compilePathMatcher } from './paths.js';
import { installLifecycle } from './lifecycle.js';
import { AlsContextManager } from './telemetry/context.js';
import { PeriscopeTracerProvider } from './telemetry/tracer.js';
import { createSampler } from './telemetry/sampler.js';
import { buildResource } from './telemetry/resource.js';
import { BatchSpanProcessor, MultiSink } from './telemetry/batch-processor.js';
import { createExporters } from './telemetry/exporters/index.js';
import { createPropagator } from './telemetry/propagation/composite.js';
import { detectOtherAgent } from './other-agents.js';
import { INSTRUMENTATIONS, MODULE_INSTRUMENTATIONS } from './instrumentations/index.js';
import { installHooks, patchHttpsWhenLoaded } from './hooks.js';
import type { AgentServices, Instrumentation } from './instrumentations/types.js';
import { compileRoutes } from './semconv/routes.js';
import { HttpMetrics } from './metrics/http-metrics.js';
import { MetricsRegistry } from './metrics/registry.js';
import { startMetrics } from './metrics/index.js';

/** Module names the hooks intercept; the ESM preload registers the import loader for exactly these. */
let hooked: string[] = [];
export function hookedModules(): readonly string[] {
  return hooked;
}

export type { Agent } from './preflight.js';

export function start(): Agent {
  const pre = preflight();
  return 'agent' in pre ? pre.agent : launch(pre.config);
}

/** Starts the agent in a process preflight() found it should run in. */
export function launch(config: PeriscopeConfig): Agent {
  const g = globalThis as Global;
  const other = detectOtherAgent();
  if (other !== undefined) {
    warn(W.OTHER_AGENT, `${other} is already registered in this process; periscope stays off to avoid double instrumentation`);
    return (g[AGENT] = inactive(config));
  }

  const exporters = createExporters(config);
  const processors = exporters.map((e) => new BatchSpanProcessor(e, config.bsp));
  const sink = processors.length === 0 ? undefined : new MultiSink(processors);
  const provider = new PeriscopeTracerProvider({
    sampler: createSampler(config.sampler, config.samplerRatio),
    resource: buildResource(config),
    limits: config.spanLimits,
    sink,
  });
  const propagator = createPropagator(config.propagators);
  const contextManager = new AlsContextManager();
  if (!context.setGlobalContextManager(contextManager) || !trace.setGlobalTracerProvider(provider)) {
    warn(W.OTHER_AGENT, 'another OpenTelemetry SDK registered first; periscope stays off to avoid double instrumentation');
    return (g[AGENT] = inactive(config));
  }
  propagation.setGlobalPropagator(propagator);

  const ownServers = new WeakSet<object>();
  const httpMetrics = config.metrics.enabled ? new HttpMetrics(config.metrics.buckets, config.metrics.maxSeries) : undefined;
  const services: AgentServices = {
    config,
    tracer: provider.getTracer('periscope-agent', VERSION),
    propagator,
    isIgnoredPath: compilePathMatcher(config.ignorePaths),
    routeOf: compileRoutes(config.routes),
    metrics: httpMetrics,
    ownServers,
  };
  const enabled: Instrumentation[] = [];
  const patched: string[] = [];
  for (const inst of INSTRUMENTATIONS) {
    if (!instrumentationEnabled(config, inst.name)) continue;
    patched.push(...inst.enable(services));
    enabled.push(inst);
  }
  const modules = MODULE_INSTRUMENTATIONS.filter((m) => instrumentationEnabled(config, m.name));
  for (const m of modules) m.setup?.(services);
  hooked = installHooks(modules);
  if (hooked.length > 0) patched.push(`module hooks (${hooked.join(', ')})`);
  const httpsWhen = patchHttpsWhenLoaded();
  if (httpsWhen !== undefined) patched.push(httpsWhen);

  // ESM named imports of builtins (`import { request } from 'node:http'`) are live bindings that
  // only see a patched export after this call.
  syncBuiltinESMExports();

  if (httpMetrics !== undefined) {
    const registry = new MetricsRegistry(httpMetrics, provider.pipeline.resource, () => processors.map((p) => p.stats));
    startMetrics(config, registry, ownServers);
  }

  const flushAll = {
    pending: () => processors.reduce((n, p) => n + p.pending(), 0),
    flush: (ms: number) => Promise.all(processors.map((p) => p.forceFlush(ms))).then(() => undefined),
    // One deadline for all exporters, not the full bound each.
    flushSync: (ms: number) => {
      const deadline = Date.now() + ms;
      for (const p of processors) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        p.flushSync(left);
      }
    },
  };
  const uninstallLifecycle = installLifecycle(flushAll, config.shutdownTimeoutMs);

  let stopped: Promise<void> | undefined;
  const agent: Agent = {
    active: true,
    config,
    shutdown() {
      stopped ??= (async () => {
        uninstallLifecycle();
        await Promise.all(processors.map((p) => p.shutdown(config.shutdownTimeoutMs)));
      })();
      return stopped;
    },
  };
  g[AGENT] = agent;

  if (debugEnabled()) {
    debug(
      `periscope-agent ${VERSION} started on Node ${process.versions.node} (pid ${process.pid}); ` +
        `patched: ${patched.join(', ') || 'nothing'}; config: ${JSON.stringify(config, redactForLog)}`,
    );
  }
  return agent;
}

// The start-up line must not leak exporter credentials (OTEL_EXPORTER_OTLP_HEADERS often holds an API key).
function redactForLog(key: string, value: unknown): unknown {
  if (key === 'headers' && value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).map((k) => [k, '<redacted>']));
  }
  if (value instanceof Set) return [...(value as Set<unknown>)];
  return value === Infinity ? 'Infinity' : value;
}

export function shutdown(): Promise<void> {
  const agent = (globalThis as Global)[AGENT];
  return agent === undefined ? Promise.resolve() : agent.shutdown();
}
