// The samplers of OTEL_TRACES_SAMPLER. A sampler answers one question: record and export this
// new span or not. Everything else (ids, flags, propagation) is the tracer's job.
import type { SpanContext } from '@opentelemetry/api';
import type { SamplerName } from '../config.js';

/**
 * `traceId` is undefined for a root span unless `readsTraceId`: the tracer draws a root's ids only
 * when something needs them (tracer.ts), and only the ratio samplers decide by the trace id.
 */
export type Sampler = ((parent: SpanContext | undefined, traceId: string | undefined) => boolean) & { readonly readsTraceId?: true };

// TraceIdRatioBased over the rightmost 52 bits of the trace id (13 hex digits fit a double
// exactly). Those bits are the random part under W3C Level 2's random-trace-id flag, so every
// service in a trace that uses the same ratio makes the same decision.
function ratioSampler(ratio: number): Sampler {
  if (ratio >= 1) return () => true;
  if (ratio <= 0) return () => false;
  const bound = Math.floor(ratio * 2 ** 52);
  return Object.assign((_parent: SpanContext | undefined, traceId: string | undefined) => parseInt(traceId!.slice(19, 32), 16) < bound, {
    readsTraceId: true as const,
  });
}

export function createSampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return () => true;
    case 'always_off':
      return () => false;
    case 'traceidratio':
      return ratioSampler(ratio);
    case 'parentbased_always_off':
      return parentBased(() => false);
    case 'parentbased_traceidratio':
      return parentBased(ratioSampler(ratio));
    case 'parentbased_always_on':
      return parentBased(() => true);
  }
}

// With the default delegates of the spec (sampled parent → on, unsampled parent → off, for
// remote and local parents alike), a parent-based sampler follows the parent's sampled flag.
function parentBased(root: Sampler): Sampler {
  const s: Sampler = (parent, traceId) => (parent === undefined ? root(parent, traceId) : (parent.traceFlags & 1) === 1);
  return root.readsTraceId ? Object.assign(s, { readsTraceId: true as const }) : s;
}
