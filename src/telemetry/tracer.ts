// Tracer and TracerProvider for @opentelemetry/api. Span creation for user code and for our own
// instrumentations goes through startSpan() below, so sampling, ids and flags live in one place.
import {
  trace,
  isSpanContextValid,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
  type Attributes,
} from '@opentelemetry/api';
import type { SpanLimits } from '../config.js';
import { activeContext, runWith, withSpan } from './context.js';
import { now, toEpochMs } from './clock.js';
import { newTraceId, spanIdWords } from './ids.js';
import { RecordingSpan, UnsampledSpan, isLocalSpan, type SpanSink } from './span.js';
import { isTracingSuppressed } from './suppress.js';
import type { Sampler } from './sampler.js';
import type { InstrumentationScope, Resource } from './types.js';
import { mergeAttributes } from './attributes.js';

const FLAG_SAMPLED = 0x01;
// W3C Trace Context Level 2: the trace id's rightmost 7 bytes are random.
const FLAG_RANDOM = 0x02;

export interface TracingPipeline {
  readonly sampler: Sampler;
  readonly resource: Resource;
  readonly limits: SpanLimits;
  /** Undefined when no exporter is configured: spans are then never recorded. */
  readonly sink: SpanSink | undefined;
}

export class PeriscopeTracer implements Tracer {
  constructor(
    private readonly pipeline: TracingPipeline,
    readonly scope: InstrumentationScope,
  ) {}

  /**
   * The one place spans are born. `attributes` is adopted as-is when the span records (callers
   * pass a fresh object built for this span; our instrumentations build them within limits).
   */
  start(name: string, kind: number, parentCtx: Context, attributes: Attributes | undefined, startTime: number, root = false): Span {
    if (isTracingSuppressed(parentCtx)) return trace.wrapSpanContext(INVALID);
    const parentSpan = root ? undefined : trace.getSpan(parentCtx);
    const p = parentSpan?.spanContext();
    const parent = p !== undefined && (isLocalSpan(parentSpan) || isSpanContextValid(p)) ? p : undefined;
    const sampler = this.pipeline.sampler;
    // The API accepts upper-case hex ids; ours are lower case, which propagation relies on (isLocalSpan).
    // A root's trace id is drawn here only for a sampler that decides by it; else as words when
    // the span records, or when something first asks a non-recording span for its context.
    const traceId =
      parent === undefined ? (sampler.readsTraceId ? newTraceId() : undefined) : isLocalSpan(parentSpan) ? parent.traceId : parent.traceId.toLowerCase();
    const sampled = sampler(parent, traceId);
    const flags = (parent ? parent.traceFlags & FLAG_RANDOM : FLAG_RANDOM) | (sampled ? FLAG_SAMPLED : 0);
    const sink = this.pipeline.sink;
    // An unsampled span still gets its own span id and the parent's flags, so the context it
    // propagates downstream is right; it just records nothing.
    if (!sampled || sink === undefined) return new UnsampledSpan(traceId, flags, parent?.traceState);
    // Nothing has drawn an id since a sampler's newTraceId(): spanIdWords reads the words it drew.
    const localParent = parentSpan instanceof RecordingSpan ? parentSpan : undefined;
    const words = spanIdWords(parent, localParent?.idWords, traceId !== undefined);
    const span = new RecordingSpan(words, traceId, flags, parent?.traceState, name, kind, parent, startTime, this.scope, this.pipeline.resource, this.pipeline.limits, sink);
    if (attributes !== undefined) span.attributes = attributes;
    span.localParent = localParent;
    return span;
  }

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = activeContext()): Span {
    const startTime = options.startTime === undefined ? now() : toEpochMs(options.startTime);
    const span = this.start(String(name), options.kind ?? 0, ctx, undefined, startTime, options.root === true);
    if (span instanceof RecordingSpan) {
      if (options.attributes) {
        span.droppedAttributesCount += mergeAttributes(
          span.attributes,
          options.attributes,
          this.pipeline.limits.attributeCountLimit,
          this.pipeline.limits.attributeValueLengthLimit,
        );
      }
      if (options.links) for (const link of options.links) span.pushLink(link);
    }
    return span;
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, context: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, a?: unknown, b?: unknown, c?: unknown): ReturnType<F> {
    let options: SpanOptions | undefined;
    let ctx: Context | undefined;
    let fn: F;
    if (typeof a === 'function') fn = a as F;
    else if (typeof b === 'function') {
      options = a as SpanOptions;
      fn = b as F;
    } else {
      options = a as SpanOptions;
      ctx = b as Context;
      fn = c as F;
    }
    const parent = ctx ?? activeContext();
    const span = this.startSpan(name, options, parent);
    return runWith(withSpan(parent, span), fn, undefined, [span]) as ReturnType<F>;
  }
}

const INVALID: SpanContext = {
  traceId: '00000000000000000000000000000000',
  spanId: '0000000000000000',
  traceFlags: 0,
};

export class PeriscopeTracerProvider implements TracerProvider {
  private readonly tracers = new Map<string, PeriscopeTracer>();

  constructor(readonly pipeline: TracingPipeline) {}

  getTracer(name: string, version?: string): PeriscopeTracer {
    const key = `${name}@${version ?? ''}`;
    let t = this.tracers.get(key);
    if (t === undefined) {
      t = new PeriscopeTracer(this.pipeline, { name: String(name), version });
      this.tracers.set(key, t);
    }
    return t;
  }
}
