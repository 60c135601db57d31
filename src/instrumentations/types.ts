// What an instrumentation gets from the agent, and the shape every instrumentation has.
import type { TextMapPropagator } from '@opentelemetry/api';
import type { PeriscopeConfig } from '../config.js';
import type { PeriscopeTracer } from '../telemetry/tracer.js';
import type { HttpMetrics } from '../metrics/http-metrics.js';

export interface AgentServices {
  readonly config: PeriscopeConfig;
  readonly tracer: PeriscopeTracer;
  readonly propagator: TextMapPropagator;
  /** True when a server request path matches PERISCOPE_IGNORE_PATHS. */
  readonly isIgnoredPath: (path: string) => boolean;
  /** PERISCOPE_ROUTES: the route template a plain node:http path matches, if any. */
  readonly routeOf: (path: string) => string | undefined;
  /** Undefined when OTEL_METRICS_EXPORTER=none. */
  readonly metrics: HttpMetrics | undefined;
  /** Servers periscope itself runs (metrics endpoint): never traced. */
  readonly ownServers: WeakSet<object>;
}

export interface Instrumentation {
  /** The name used by OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS. */
  readonly name: string;
  /** What was patched, for the debug start-up line. */
  enable(services: AgentServices): string[];
}
