// A context flag meaning "do not trace anything under here". The exporters set it around their
// own HTTP requests so a span export never produces spans (or propagation headers) of its own.
import { createContextKey, type Context } from '@opentelemetry/api';

// The same description as the OpenTelemetry SDK core on purpose: createContextKey uses
// Symbol.for(), so code written against the SDK's suppressTracing() is honoured by us and the other
// way round.
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

export function suppressTracing(ctx: Context): Context {
  return ctx.setValue(SUPPRESS_TRACING, true);
}

export function isTracingSuppressed(ctx: Context): boolean {
  return ctx.getValue(SUPPRESS_TRACING) === true;
}
