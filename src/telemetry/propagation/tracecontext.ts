// W3C Trace Context: the `traceparent` and `tracestate` headers.
// https://www.w3.org/TR/trace-context-2/
//
// extract() runs on every incoming request, so the common "no header" case returns before any
// work, the grammar is checked with one precompiled regex, and nothing here ever throws into the
// request: a header we cannot read simply starts a new trace.
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  trace,
  type Context,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type TraceState as ApiTraceState,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '../suppress.js';
import { withSpan } from '../context.js';
import { isLocalSpan } from '../span.js';
import { TraceState, parseTraceState } from './trace-state.js';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';
const FIELDS: readonly string[] = [TRACEPARENT, TRACESTATE];

// version "-" trace-id "-" parent-id "-" trace-flags, then either the end or (future versions
// only) a '-' before fields we do not know. Checked against the whole header, not a slice of it.
const TRACEPARENT_PREFIX = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-|$)/;
const TRACEPARENT_LENGTH = 55;
const INVALID_TRACE_ID = '00000000000000000000000000000000';
const INVALID_SPAN_ID = '0000000000000000';
const LOWER_TRACE_ID = /^[0-9a-f]{32}$/;
const LOWER_SPAN_ID = /^[0-9a-f]{16}$/;

// 0x01 sampled, 0x02 random trace id (Level 2). Other bits have no meaning yet and the spec
// says not to pass on bits we do not understand.
const KNOWN_FLAGS = 0x03;

/**
 * The one value of a header that may have arrived several times. Repeats of the same value are
 * harmless (proxies do that); different values mean we cannot tell which is right.
 */
export function soleHeaderValue(value: string | string[] | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const first = value[0];
  if (typeof first !== 'string') return undefined;
  for (let i = 1; i < value.length; i++) if (value[i] !== first) return undefined;
  return first;
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

// HTTP strips optional whitespace around a field value; Node's parser already does, other
// carriers (a message queue's headers) may not.
function trimOws(value: string): string {
  if (value.length === 0) return value;
  if (!isOws(value.charCodeAt(0)) && !isOws(value.charCodeAt(value.length - 1))) return value;
  let a = 0;
  let b = value.length;
  while (a < b && isOws(value.charCodeAt(a))) a++;
  while (b > a && isOws(value.charCodeAt(b - 1))) b--;
  return value.slice(a, b);
}

interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

export function parseTraceParent(header: string): TraceParent | undefined {
  const value = trimOws(header);
  if (value.length < TRACEPARENT_LENGTH || !TRACEPARENT_PREFIX.test(value)) return undefined;
  const version = value.slice(0, 2);
  if (version === 'ff') return undefined;
  // Version 00 has exactly four fields. A later version may append fields after a '-' (already
  // checked by the regex); we read only the four we know.
  if (version === '00' && value.length !== TRACEPARENT_LENGTH) return undefined;
  const traceId = value.slice(3, 35);
  const spanId = value.slice(36, 52);
  if (traceId === INVALID_TRACE_ID || spanId === INVALID_SPAN_ID) return undefined;
  const traceFlags = parseInt(value.slice(53, 55), 16) & KNOWN_FLAGS;
  return { traceId, spanId, traceFlags };
}

// A TraceState from elsewhere (another copy of periscope, the OTel SDK, user code) has not been
// through our grammar check; re-parse it so nothing malformed reaches an outgoing header.
function outgoingTraceState(state: ApiTraceState): string {
  if (state instanceof TraceState) return state.serialize();
  const serialized = state.serialize();
  if (typeof serialized !== 'string') return '';
  return parseTraceState(serialized)?.serialize() ?? '';
}

/**
 * The span context to propagate from `context`, with lower-case ids (the API accepts upper-case
 * hex ids; headers must be lower case), or undefined when there is none or tracing is suppressed.
 * Shared by every injecting propagator. Runs for every outgoing request: a span of ours is taken
 * as it is, without testing its ids.
 */
export function outgoingSpanContext(context: Context): SpanContext | undefined {
  const span = trace.getSpan(context);
  if (span === undefined || isTracingSuppressed(context)) return undefined;
  const spanContext = span.spanContext();
  if (isLocalSpan(span)) return spanContext;
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
  if (LOWER_TRACE_ID.test(spanContext.traceId) && LOWER_SPAN_ID.test(spanContext.spanId)) return spanContext;
  return { ...spanContext, traceId: spanContext.traceId.toLowerCase(), spanId: spanContext.spanId.toLowerCase() };
}

export class W3CTraceContextPropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter = defaultTextMapSetter): void {
    try {
      const spanContext = outgoingSpanContext(context);
      if (spanContext === undefined) return;
      const flags = spanContext.traceFlags & KNOWN_FLAGS;
      setter.set(carrier, TRACEPARENT, `00-${spanContext.traceId}-${spanContext.spanId}-0${flags}`);
      if (spanContext.traceState !== undefined) {
        const state = outgoingTraceState(spanContext.traceState);
        if (state !== '') setter.set(carrier, TRACESTATE, state);
      }
    } catch {
      // A broken carrier or setter must not break the request being sent.
    }
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter = defaultTextMapGetter): Context {
    try {
      const header = getter.get(carrier, TRACEPARENT);
      if (header === undefined) return context;
      const value = soleHeaderValue(header);
      if (value === undefined) return context;
      const parent = parseTraceParent(value);
      if (parent === undefined) return context;
      const spanContext: SpanContext = {
        traceId: parent.traceId,
        spanId: parent.spanId,
        traceFlags: parent.traceFlags,
        isRemote: true,
      };
      // tracestate means nothing without a valid traceparent, so it is read only now.
      const traceState = parseTraceState(getter.get(carrier, TRACESTATE));
      if (traceState !== undefined) spanContext.traceState = traceState;
      return withSpan(context, trace.wrapSpanContext(spanContext));
    } catch {
      return context;
    }
  }

  fields(): string[] {
    return [...FIELDS];
  }
}
