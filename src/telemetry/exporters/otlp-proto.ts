// OTLP/protobuf encoding of an ExportTraceServiceRequest without a protobuf library.
//
// The same traversal runs twice: a sizing pass that records the length of every length-delimited
// field (messages and strings) in visiting order, then a writing pass that replays those lengths
// into one buffer allocated at the exact size. No per-field allocations, no copying of nested
// messages. Field numbers are those of opentelemetry-proto v1 (trace.proto, common.proto,
// resource.proto, collector/trace/v1/trace_service.proto).
import type { AttributeValue, FinishedSpan, SpanEventData, SpanLinkData } from '../types.js';
import { groupSpans, linkFlags, spanFlags, toMicros, type ResourceGroup, type ScopeGroup } from './otlp-json.js';

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
const TWO_POW_32 = 4294967296;

type Body<T> = (e: Encoder, value: T) => void;

class Encoder {
  sizing = true;
  pos = 0;
  buf: Buffer = Buffer.alloc(0);
  readonly lengths: number[] = [];
  next = 0; // index into lengths during the writing pass

  private byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  private rawVarint(n: number): void {
    if (this.sizing) {
      this.pos += varintSize(n);
      return;
    }
    while (n > 127) {
      this.byte((n & 0x7f) | 0x80);
      n = Math.floor(n / 128); // not >>> 7: lengths and counts may exceed 2^31
    }
    this.byte(n);
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  uint(field: number, n: number): void {
    if (n === 0) return; // proto3 leaves default scalars out
    this.tag(field, VARINT);
    this.rawVarint(n >>> 0);
  }

  /** Always written, for members of a oneof (AnyValue), where presence carries meaning. */
  int64(field: number, n: number): void {
    this.tag(field, VARINT);
    // Two's complement over 64 bits; ToUint32 is exact for any safe integer.
    let lo = n >>> 0;
    let hi = Math.floor(n / TWO_POW_32) >>> 0;
    if (this.sizing) {
      let size = 1;
      while (hi !== 0 || lo > 127) {
        lo = ((lo >>> 7) | (hi << 25)) >>> 0;
        hi >>>= 7;
        size++;
      }
      this.pos += size;
      return;
    }
    while (hi !== 0 || lo > 127) {
      this.byte((lo & 0x7f) | 0x80);
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.byte(lo);
  }

  bool(field: number, b: boolean): void {
    this.tag(field, VARINT);
    if (this.sizing) this.pos += 1;
    else this.byte(b ? 1 : 0);
  }

  double(field: number, n: number): void {
    this.tag(field, I64);
    if (!this.sizing) this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  fixed32(field: number, n: number): void {
    if (n === 0) return;
    this.tag(field, I32);
    if (!this.sizing) this.buf.writeUInt32LE(n >>> 0, this.pos);
    this.pos += 4;
  }

  /** A *_unix_nano fixed64 from epoch milliseconds, without going through BigInt. */
  nanos(field: number, ms: number): void {
    const us = toMicros(ms);
    if (us === 0) return;
    this.tag(field, I64);
    if (!this.sizing) {
      // us * 1000 split into 32-bit halves; every intermediate stays below 2^53, so it is exact.
      const usHi = Math.floor(us / TWO_POW_32);
      const lo = (us - usHi * TWO_POW_32) * 1000;
      const carry = Math.floor(lo / TWO_POW_32);
      this.buf.writeUInt32LE(lo - carry * TWO_POW_32, this.pos);
      this.buf.writeUInt32LE((usHi * 1000 + carry) >>> 0, this.pos + 4);
    }
    this.pos += 8;
  }

  /** Written even when empty inside a oneof; elsewhere callers skip empty strings. */
  string(field: number, s: string): void {
    this.tag(field, LEN);
    if (this.sizing) {
      const n = Buffer.byteLength(s, 'utf8');
      this.lengths.push(n);
      this.pos += varintSize(n) + n;
      return;
    }
    const n = this.lengths[this.next++] ?? 0;
    this.rawVarint(n);
    if (n === s.length && n < 64) {
      // Byte length equal to UTF-16 length means pure ASCII; a loop beats a native call for short strings.
      for (let i = 0; i < n; i++) this.buf[this.pos + i] = s.charCodeAt(i);
      this.pos += n;
    } else {
      this.pos += this.buf.write(s, this.pos, n, 'utf8');
    }
  }

  optString(field: number, s: string | undefined): void {
    if (s) this.string(field, s);
  }

  /** Hex trace/span id as raw bytes. */
  hexBytes(field: number, hex: string | undefined): void {
    if (!hex) return;
    const n = hex.length >>> 1;
    this.tag(field, LEN);
    this.rawVarint(n);
    if (!this.sizing) {
      for (let i = 0; i < n; i++) this.buf[this.pos + i] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1));
    }
    this.pos += n;
  }

  message<T>(field: number, body: Body<T>, value: T): void {
    this.tag(field, LEN);
    if (this.sizing) {
      // Reserve the slot before measuring the children, so lengths end up in the order the
      // writing pass needs them: a message's own length before those of its fields.
      const slot = this.lengths.length;
      this.lengths.push(0);
      const start = this.pos;
      body(this, value);
      const n = this.pos - start;
      this.lengths[slot] = n;
      this.pos += varintSize(n);
      return;
    }
    this.rawVarint(this.lengths[this.next++] ?? 0);
    body(this, value);
  }
}

function varintSize(n: number): number {
  let size = 1;
  while (n > 127) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return 0;
}

// --- common.proto: AnyValue, ArrayValue, KeyValue -------------------------------------------------

function anyValue(e: Encoder, v: AttributeValue | null | undefined): void {
  switch (typeof v) {
    case 'string':
      return e.string(1, v);
    case 'boolean':
      return e.bool(2, v);
    case 'number':
      return Number.isSafeInteger(v) ? e.int64(3, v) : e.double(4, v);
    case 'object':
      if (Array.isArray(v)) e.message(5, arrayValue, v as readonly unknown[]);
      return; // null: an empty AnyValue
    default:
  }
}

function arrayValue(e: Encoder, values: readonly unknown[]): void {
  for (const v of values) e.message(1, anyValue, v as AttributeValue | null | undefined);
}

interface Entry {
  key: string;
  value: AttributeValue;
}
const entry: Entry = { key: '', value: '' };

function keyValue(e: Encoder, kv: Entry): void {
  e.string(1, kv.key);
  e.message(2, anyValue, kv.value);
}

function attributes(e: Encoder, field: number, attrs: Readonly<Record<string, AttributeValue | undefined>>): void {
  for (const key in attrs) {
    const value = attrs[key];
    if (value === undefined || value === null) continue;
    // One reusable holder: keyValue reads it synchronously before the next iteration.
    entry.key = key;
    entry.value = value;
    e.message(field, keyValue, entry);
  }
}

// --- trace.proto -----------------------------------------------------------------------------------

function event(e: Encoder, ev: SpanEventData): void {
  e.nanos(1, ev.time);
  e.optString(2, ev.name);
  attributes(e, 3, ev.attributes);
  e.uint(4, ev.droppedAttributesCount);
}

function link(e: Encoder, l: SpanLinkData): void {
  e.hexBytes(1, l.traceId);
  e.hexBytes(2, l.spanId);
  e.optString(3, l.traceState);
  attributes(e, 4, l.attributes);
  e.uint(5, l.droppedAttributesCount);
  e.fixed32(6, linkFlags(l.traceFlags));
}

function status(e: Encoder, s: FinishedSpan['status']): void {
  e.optString(2, s.message); // field 1 is reserved (the old deprecated_code)
  e.uint(3, s.code);
}

function span(e: Encoder, s: FinishedSpan): void {
  e.hexBytes(1, s.traceId);
  e.hexBytes(2, s.spanId);
  e.optString(3, s.traceState);
  e.hexBytes(4, s.parentSpanId);
  e.optString(5, s.name);
  e.uint(6, s.kind + 1); // api SpanKind INTERNAL=0 is the proto's SPAN_KIND_INTERNAL=1
  e.nanos(7, s.startTime);
  e.nanos(8, s.endTime);
  attributes(e, 9, s.attributes);
  e.uint(10, s.droppedAttributesCount);
  for (const ev of s.events) e.message(11, event, ev);
  e.uint(12, s.droppedEventsCount);
  for (const l of s.links) e.message(13, link, l);
  e.uint(14, s.droppedLinksCount);
  e.message(15, status, s.status);
  e.fixed32(16, spanFlags(s));
}

function scopeSpans(e: Encoder, g: ScopeGroup): void {
  e.message(1, scope, g);
  for (const s of g.spans) e.message(2, span, s);
}

function scope(e: Encoder, g: ScopeGroup): void {
  e.optString(1, g.scope.name);
  e.optString(2, g.scope.version);
}

function resource(e: Encoder, g: ResourceGroup): void {
  attributes(e, 1, g.resource.attributes);
}

function resourceSpans(e: Encoder, g: ResourceGroup): void {
  e.message(1, resource, g);
  for (const s of g.scopes) e.message(2, scopeSpans, s);
}

export function encodeOtlpProto(spans: readonly FinishedSpan[]): Uint8Array {
  const groups = groupSpans(spans);
  const e = new Encoder();
  for (const g of groups) e.message(1, resourceSpans, g);
  e.buf = Buffer.allocUnsafe(e.pos);
  e.sizing = false;
  e.pos = 0;
  for (const g of groups) e.message(1, resourceSpans, g);
  // A plain view of the same memory: @types/node 20 Buffer does not type-check as Uint8Array under TS 5.7+.
  return new Uint8Array(e.buf.buffer, e.buf.byteOffset, e.buf.length);
}
