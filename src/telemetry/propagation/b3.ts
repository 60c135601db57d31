// Zipkin B3 propagation, single header and multi header.
// https://github.com/openzipkin/b3-propagation
//
// Extract accepts either format whatever the mode, because a mixed fleet sends both; inject
// writes only the configured one.
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  TraceFlags,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { outgoingSpanContext, soleHeaderValue } from './tracecontext.js';
import { withSpan } from '../context.js';

export type B3Mode = 'single' | 'multi';

export interface B3Options {
  /** Format written by inject. Default 'single' (one `b3` header). */
  readonly mode?: B3Mode;
}

const B3 = 'b3';
const TRACE_ID = 'x-b3-traceid';
const SPAN_ID = 'x-b3-spanid';
const SAMPLED = 'x-b3-sampled';
const FLAGS = 'x-b3-flags';
const PARENT_SPAN_ID = 'x-b3-parentspanid';

// Trace ids are 64 or 128 bits; span ids 64. Lower-case hex only.
const B3_TRACE_ID = /^(?:[0-9a-f]{16}){1,2}$/;
const B3_SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_PAD = '0000000000000000';
const INVALID_TRACE_ID = ZERO_PAD + ZERO_PAD;

interface Parsed {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
}

// A 64-bit trace id is the low half of a 128-bit one.
function toTraceId(id: string | undefined): string | undefined {
  if (id === undefined || !B3_TRACE_ID.test(id)) return undefined;
  const full = id.length === 16 ? ZERO_PAD + id : id;
  return full === INVALID_TRACE_ID ? undefined : full;
}

function toSpanId(id: string | undefined): string | undefined {
  return id !== undefined && B3_SPAN_ID.test(id) && id !== ZERO_PAD ? id : undefined;
}

// Single header: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]], or just {SamplingState}.
// Returns null for "sampling only": a valid header that carries no span context.
function parseSingle(value: string): Parsed | null | undefined {
  if (value === '0' || value === '1' || value === 'd') return null;
  const parts = value.split('-');
  if (parts.length < 2 || parts.length > 4) return undefined;
  const traceId = toTraceId(parts[0]);
  const spanId = toSpanId(parts[1]);
  if (traceId === undefined || spanId === undefined) return undefined;
  const state = parts[2];
  // Absent state means "deferred" (the sender has not decided); like the OTel B3 propagator we
  // carry that as not sampled, so a parent-based sampler does not record it.
  if (state !== undefined && state !== '0' && state !== '1' && state !== 'd') return undefined;
  if (parts.length === 4 && toSpanId(parts[3]) === undefined) return undefined;
  return { traceId, spanId, sampled: state === '1' || state === 'd' };
}

function parseMulti(carrier: unknown, getter: TextMapGetter): Parsed | undefined {
  const traceId = toTraceId(soleHeaderValue(getter.get(carrier, TRACE_ID)));
  if (traceId === undefined) return undefined;
  const spanId = toSpanId(soleHeaderValue(getter.get(carrier, SPAN_ID)));
  if (spanId === undefined) return undefined;
  const parentHeader = getter.get(carrier, PARENT_SPAN_ID);
  if (parentHeader !== undefined && toSpanId(soleHeaderValue(parentHeader)) === undefined) return undefined;
  const sampledHeader = getter.get(carrier, SAMPLED);
  // Absent means "deferred", carried as not sampled (see parseSingle).
  let sampled = false;
  if (sampledHeader !== undefined) {
    const value = soleHeaderValue(sampledHeader);
    // 'true'/'false' predate the spec and some old tracers still send them.
    if (value === '1' || value === 'true') sampled = true;
    else if (value !== '0' && value !== 'false') return undefined;
  }
  // Debug implies an accept decision.
  if (soleHeaderValue(getter.get(carrier, FLAGS)) === '1') sampled = true;
  return { traceId, spanId, sampled };
}

export class B3Propagator implements TextMapPropagator {
  readonly #mode: B3Mode;

  constructor(options: B3Options = {}) {
    this.#mode = options.mode === 'multi' ? 'multi' : 'single';
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter = defaultTextMapSetter): void {
    try {
      const spanContext = outgoingSpanContext(context);
      if (spanContext === undefined) return;
      const { traceId, spanId } = spanContext;
      const sampled = (spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '1' : '0';
      if (this.#mode === 'single') {
        setter.set(carrier, B3, `${traceId}-${spanId}-${sampled}`);
      } else {
        setter.set(carrier, TRACE_ID, traceId);
        setter.set(carrier, SPAN_ID, spanId);
        setter.set(carrier, SAMPLED, sampled);
      }
    } catch {
      // A broken carrier or setter must not break the request being sent.
    }
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter = defaultTextMapGetter): Context {
    try {
      let parsed: Parsed | undefined;
      const single = getter.get(carrier, B3);
      if (single !== undefined) {
        const value = soleHeaderValue(single);
        const result = value === undefined ? undefined : parseSingle(value);
        if (result === null) return context;
        parsed = result;
      }
      if (parsed === undefined) {
        if (getter.get(carrier, TRACE_ID) === undefined) return context;
        parsed = parseMulti(carrier, getter);
        if (parsed === undefined) return context;
      }
      return withSpan(
        context,
        trace.wrapSpanContext({
          traceId: parsed.traceId,
          spanId: parsed.spanId,
          traceFlags: parsed.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
          isRemote: true,
        }),
      );
    } catch {
      return context;
    }
  }

  fields(): string[] {
    return this.#mode === 'single' ? [B3] : [TRACE_ID, SPAN_ID, SAMPLED];
  }
}
