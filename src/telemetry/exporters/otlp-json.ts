// OTLP/JSON encoding of an ExportTraceServiceRequest, following the JSON mapping rules of the OTLP
// spec (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): lowerCamelCase keys,
// trace and span ids as hex (not base64 as plain proto3 JSON would have it), enums as integers and
// 64-bit integers as decimal strings. The flag and time helpers are shared with otlp-proto.ts.
import type { AttributeValue, Attributes, FinishedSpan, InstrumentationScope, Resource } from '../types.js';

// SpanFlags from opentelemetry-proto trace.proto (added in OTLP 1.1 / proto v1.2.0).
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

export interface ScopeGroup {
  readonly scope: InstrumentationScope;
  readonly spans: FinishedSpan[];
}
export interface ResourceGroup {
  readonly resource: Resource;
  readonly scopes: ScopeGroup[];
}

/** Batch spans by resource (object identity: one Resource is shared per process) then by scope. */
export function groupSpans(spans: readonly FinishedSpan[]): ResourceGroup[] {
  const byResource = new Map<Resource, Map<string, ScopeGroup>>();
  for (const span of spans) {
    let scopes = byResource.get(span.resource);
    if (scopes === undefined) {
      scopes = new Map();
      byResource.set(span.resource, scopes);
    }
    // A NUL cannot appear in a sane scope name, and \u0001 keeps "no version" apart from "".
    const key = `${span.scope.name}\u0000${span.scope.version ?? '\u0001'}`;
    let group = scopes.get(key);
    if (group === undefined) {
      group = { scope: span.scope, spans: [] };
      scopes.set(key, group);
    }
    group.spans.push(span);
  }
  const out: ResourceGroup[] = [];
  for (const [resource, scopes] of byResource) out.push({ resource, scopes: [...scopes.values()] });
  return out;
}

/** Span.flags: W3C trace flags in the low byte, plus whether the parent context was remote. */
export function spanFlags(span: FinishedSpan): number {
  return (span.traceFlags & 0xff) | HAS_IS_REMOTE | (span.parentIsRemote ? IS_REMOTE : 0);
}

/**
 * Link.flags: only the W3C flags, because SpanLinkData does not record whether the linked context
 * was remote, and the proto says to leave HAS_IS_REMOTE clear when that is unknown.
 */
export function linkFlags(traceFlags: number): number {
  return traceFlags & 0xff;
}

/**
 * Epoch milliseconds (float, microsecond precision) as whole microseconds. Whole microseconds
 * stay below 2^53 until the year 2255, so the number is exact; nanoseconds would not be.
 */
export function toMicros(ms: number): number {
  const us = Math.round(ms * 1000);
  return us > 0 ? us : 0;
}

/** Integer nanoseconds as a decimal string, exact: the microseconds with three zeros appended. */
export function toNanoString(ms: number): string {
  const us = toMicros(ms);
  return us === 0 ? '0' : `${us}000`;
}

interface AnyValueJson {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number | string;
  arrayValue?: { values: AnyValueJson[] };
}
interface KeyValueJson {
  key: string;
  value: AnyValueJson;
}

function anyValue(v: AttributeValue | null | undefined): AnyValueJson {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'number':
      if (Number.isSafeInteger(v)) return { intValue: String(v) };
      // Proto3 JSON spells the non-finite doubles as strings; JSON.stringify would write null.
      return { doubleValue: Number.isFinite(v) ? v : String(v) };
    case 'object':
      // Arrays may hold null/undefined; those become an empty AnyValue, as in the proto.
      if (Array.isArray(v)) return { arrayValue: { values: (v as unknown[]).map((x) => anyValue(x as AttributeValue)) } };
      return {};
    default:
      return {};
  }
}

export function keyValues(attributes: Attributes | Readonly<Record<string, AttributeValue>>): KeyValueJson[] {
  const out: KeyValueJson[] = [];
  for (const key in attributes) {
    const v = attributes[key];
    if (v === undefined || v === null) continue;
    out.push({ key, value: anyValue(v) });
  }
  return out;
}

function spanJson(span: FinishedSpan): Record<string, unknown> {
  const out: Record<string, unknown> = { traceId: span.traceId, spanId: span.spanId };
  if (span.traceState) out.traceState = span.traceState;
  if (span.parentSpanId) out.parentSpanId = span.parentSpanId;
  out.flags = spanFlags(span);
  out.name = span.name;
  out.kind = span.kind + 1; // api SpanKind starts at INTERNAL=0, the proto enum at UNSPECIFIED=0
  out.startTimeUnixNano = toNanoString(span.startTime);
  out.endTimeUnixNano = toNanoString(span.endTime);
  out.attributes = keyValues(span.attributes);
  out.droppedAttributesCount = span.droppedAttributesCount;
  out.events = span.events.map((e) => ({
    timeUnixNano: toNanoString(e.time),
    name: e.name,
    attributes: keyValues(e.attributes),
    droppedAttributesCount: e.droppedAttributesCount,
  }));
  out.droppedEventsCount = span.droppedEventsCount;
  out.links = span.links.map((l) => {
    const link: Record<string, unknown> = { traceId: l.traceId, spanId: l.spanId };
    if (l.traceState) link.traceState = l.traceState;
    link.attributes = keyValues(l.attributes);
    link.droppedAttributesCount = l.droppedAttributesCount;
    link.flags = linkFlags(l.traceFlags);
    return link;
  });
  out.droppedLinksCount = span.droppedLinksCount;
  const status: Record<string, unknown> = { code: span.status.code };
  if (span.status.message) status.message = span.status.message;
  out.status = status;
  return out;
}

function scopeJson(scope: InstrumentationScope): Record<string, unknown> {
  return scope.version === undefined ? { name: scope.name } : { name: scope.name, version: scope.version };
}

export function encodeOtlpJson(spans: readonly FinishedSpan[]): string {
  const resourceSpans = groupSpans(spans).map((r) => ({
    resource: { attributes: keyValues(r.resource.attributes), droppedAttributesCount: 0 },
    scopeSpans: r.scopes.map((s) => ({ scope: scopeJson(s.scope), spans: s.spans.map(spanJson) })),
  }));
  return JSON.stringify({ resourceSpans });
}
