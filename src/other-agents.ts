// Another APM agent in the same process would double every span and fight over the same
// patches. We look for the ones that announce themselves and stay off if one is there.
import http from 'node:http';

const OTEL_API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/** A name for the agent already present, or undefined. */
export function detectOtherAgent(): string | undefined {
  const g = globalThis as Record<string | symbol, unknown>;
  if (g._ddtrace !== undefined) return 'Datadog dd-trace';
  if (g[Symbol.for('ElasticAPMAgentInitialized')] === true) return 'Elastic APM (elastic-apm-node)';
  if (g.__NR_INIT !== undefined || g.newrelic !== undefined) return 'New Relic';
  const api = g[OTEL_API_GLOBAL] as Record<string, unknown> | undefined;
  if (api?.trace !== undefined) return 'an OpenTelemetry tracer provider';
  // shimmer's marker: someone else (OTel's instrumentation-http, an older agent) wrapped http.
  const emit = http.Server.prototype.emit as unknown as Record<string | symbol, unknown>;
  if (emit.__wrapped === true && emit[Symbol.for('periscope.wrapped')] !== true) return 'another http instrumentation';
  return undefined;
}
