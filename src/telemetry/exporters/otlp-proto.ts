// OTLP/protobuf encoding of an ExportTraceServiceRequest without a protobuf library.
//
// Spans are encoded once, when they end, into the queue itself (ProtoSpanQueue): a batch is
// bytes from then on. The span objects die young instead of waiting in the queue for the next
// export, which kept the young generation large (~50 MB on Node 24 at 50k spans/s) and every
// scavenge slow; a retry or a crash flush re-sends the same bytes without encoding again.
//
// One pass per span through proto-writer.ts; the reservations fit a key/value under 128 bytes and
// a span under 16 KiB, so a body rarely moves. Field numbers are those of opentelemetry-proto v1
// (trace.proto, common.proto, resource.proto, collector/trace/v1/trace_service.proto).
import type { FinishedSpan, InstrumentationScope, Resource, SpanEventData, SpanLinkData } from '../types.js';
import type { SpanBatch, SpanQueue } from '../span-queue.js';
import type { SpanIdWords } from '../ids.js';
import { linkFlags, spanFlags } from './otlp-json.js';
import { LEN, Writer, putNanos, varintSize } from './proto-writer.js';
import { attributes, spanAttributes } from './otlp-attributes.js';

// --- trace.proto -----------------------------------------------------------------------------------

function event(w: Writer, ev: SpanEventData): void {
  const at = w.begin(11, 2);
  w.nanos(1, ev.time);
  w.optString(2, ev.name);
  attributes(w, 3, ev.attributes);
  w.uint(4, ev.droppedAttributesCount);
  w.end(at, 2);
}

function link(w: Writer, l: SpanLinkData): void {
  const at = w.begin(13, 2);
  w.hexBytes(1, l.traceId);
  w.hexBytes(2, l.spanId);
  w.optString(3, l.traceState);
  attributes(w, 4, l.attributes);
  w.uint(5, l.droppedAttributesCount);
  w.fixed32(6, linkFlags(l.traceFlags));
  w.end(at, 2);
}

// Span fields 1, 2 and 4 from the span's id words (ids.ts): tags and lengths are one byte each.
// Written through the buffer's DataView, two words a store: each store into a Buffer checks its
// own bounds, whatever its width, so fewer and wider stores are cheaper.

/** Four 16-bit words at p, most significant first (big-endian): eight bytes of an id. */
function put64(view: DataView, p: number, a: number, b: number, c: number, d: number): void {
  view.setUint32(p, a * 65536 + b);
  view.setUint32(p + 4, c * 65536 + d);
}

function traceAndSpanId(w: Writer, iw: SpanIdWords): void {
  w.ensure(28);
  const view = w.view;
  const p = w.pos;
  view.setUint16(p, 0x0a10); // field 1, LEN, 16 bytes
  put64(view, p + 2, iw.t0, iw.t1, iw.t2, iw.t3);
  put64(view, p + 10, iw.t4, iw.t5, iw.t6, iw.t7);
  view.setUint16(p + 18, 0x1208); // field 2, LEN, 8 bytes
  put64(view, p + 20, iw.s0, iw.s1, iw.s2, iw.s3);
  w.pos = p + 28;
}

function parentSpanId(w: Writer, iw: SpanIdWords): void {
  w.ensure(10);
  const view = w.view;
  const p = w.pos;
  view.setUint16(p, 0x2208); // field 4, LEN, 8 bytes
  put64(view, p + 2, iw.p0, iw.p1, iw.p2, iw.p3);
  w.pos = p + 10;
}

/** Span fields 6 (kind), 7 and 8 (start and end): one room check for all three, no call. */
function kindAndTimes(w: Writer, kind: number, startMs: number, endMs: number): void {
  if (!(kind > 0 && kind < 128)) {
    w.uint(6, kind);
    w.nanos(7, startMs);
    w.nanos(8, endMs);
    return;
  }
  w.ensure(20);
  const buf = w.buf;
  let p = w.pos;
  buf[p++] = 0x30; // field 6, VARINT, one byte
  buf[p++] = kind;
  p = putNanos(w.view, p, 0x39, startMs); // field 7, I64
  w.pos = putNanos(w.view, p, 0x41, endMs); // field 8, I64
}

/**
 * Span fields 15 (a status without message, its code below 128) and 16 (flags), for a span with
 * nothing in fields 10 to 14 (most spans): one room check, no call. Flags always carry
 * HAS_IS_REMOTE, so they are never left out.
 */
function statusAndFlags(w: Writer, code: number, flags: number): void {
  w.ensure(12);
  const buf = w.buf;
  let p = w.pos;
  buf[p++] = 0x7a; // field 15, LEN
  if (code === 0) buf[p++] = 0;
  else {
    buf[p++] = 2;
    buf[p++] = 0x18; // Status field 3, VARINT
    buf[p++] = code;
  }
  buf[p++] = 0x85; // field 16, I32: a two-byte tag
  buf[p++] = 0x01;
  w.view.setUint32(p, flags, true);
  w.pos = p + 4;
}

/** ScopeSpans.spans (field 2): one whole Span message, tag and length included. */
function span(w: Writer, s: FinishedSpan): void {
  const at = w.begin(2, 2);
  const iw = s.idWords;
  if (iw === undefined) {
    w.hexBytes(1, s.traceId);
    w.hexBytes(2, s.spanId);
    w.optString(3, s.traceState);
    w.hexBytes(4, s.parentSpanId);
  } else {
    traceAndSpanId(w, iw);
    w.optString(3, s.traceState);
    if (iw.hasParent) parentSpanId(w, iw);
  }
  w.optString(5, s.name);
  kindAndTimes(w, s.kind + 1, s.startTime, s.endTime); // api SpanKind INTERNAL=0 is the proto's SPAN_KIND_INTERNAL=1
  spanAttributes(w, s.attributes, s.kind);
  const status = s.status;
  const code = status.code >>> 0; // as uint() writes it
  if (code < 128 && !status.message && s.droppedAttributesCount === 0 && s.events.length === 0 && s.droppedEventsCount === 0 && s.links.length === 0 && s.droppedLinksCount === 0) {
    statusAndFlags(w, code, spanFlags(s));
    w.end(at, 2);
    return;
  }
  w.uint(10, s.droppedAttributesCount);
  // Indexed loops: for-of allocated an iterator per span even over the shared empty arrays.
  const events = s.events;
  for (let i = 0; i < events.length; i++) event(w, events[i]!);
  w.uint(12, s.droppedEventsCount);
  const links = s.links;
  for (let i = 0; i < links.length; i++) link(w, links[i]!);
  w.uint(14, s.droppedLinksCount);
  const st = w.begin(15, 1);
  w.optString(2, s.status.message); // field 1 is reserved (the old deprecated_code)
  w.uint(3, s.status.code);
  w.end(st, 1);
  w.fixed32(16, spanFlags(s));
  w.end(at, 2);
}

// --- the queue ----------------------------------------------------------------------------------

const CHUNK_BYTES = 64 * 1024;
/** A recycled batch buffer larger than this (after a burst of large spans) is let go. */
const SPARE_MAX_BYTES = 4 * 1024 * 1024;

/** The encoded spans of one resource and scope, in the order they ended. */
class Chunk {
  readonly w = new Writer(CHUNK_BYTES);
  /**
   * Byte offset in w where each queued span ends, for the first `count` entries. A typed array:
   * a JS array of up to a queue's worth of numbers was reallocated as it grew and shrank.
   */
  ends = new Uint32Array(256);
  count = 0;
  /** Resource (ResourceSpans field 1) and scope (ScopeSpans field 1), encoded once. */
  readonly resourceField: Uint8Array;
  readonly scopeField: Uint8Array;

  constructor(
    readonly resource: Resource,
    readonly scope: InstrumentationScope,
  ) {
    const w = new Writer(1024);
    const r = w.begin(1, 2);
    attributes(w, 1, resource.attributes);
    w.end(r, 2);
    this.resourceField = Uint8Array.prototype.slice.call(w.buf, 0, w.pos);
    w.pos = 0;
    const s = w.begin(1, 1);
    w.optString(1, scope.name);
    w.optString(2, scope.version);
    w.end(s, 1);
    this.scopeField = Uint8Array.prototype.slice.call(w.buf, 0, w.pos);
  }

  matches(s: FinishedSpan): boolean {
    return this.resource === s.resource && (this.scope === s.scope || (this.scope.name === s.scope.name && this.scope.version === s.scope.version));
  }
}

/** What one chunk contributes to a batch: its first `count` spans, `bytes` long. */
interface Part {
  readonly chunk: Chunk;
  readonly count: number;
  readonly bytes: number;
}

/** Queued spans as protobuf; a batch is a ready ExportTraceServiceRequest body. */
export class ProtoSpanQueue implements SpanQueue<Uint8Array> {
  length = 0;
  private readonly chunks: Chunk[] = [];
  private last: Chunk | undefined;
  /** The memory of the last batch handed out, and of one the collector accepted, to write the next in. */
  private lent: ArrayBufferLike | undefined;
  private spare: Buffer | undefined;

  push(s: FinishedSpan): void {
    let chunk = this.last;
    if (chunk === undefined || !chunk.matches(s)) {
      chunk = this.chunks.find((c) => c.matches(s));
      if (chunk === undefined) {
        chunk = new Chunk(s.resource, s.scope);
        this.chunks.push(chunk);
      }
      this.last = chunk;
    }
    const w = chunk.w;
    const start = w.pos;
    try {
      span(w, s);
    } catch (err) {
      w.pos = start; // nothing half-written stays in the queue
      throw err;
    }
    if (chunk.count === chunk.ends.length) {
      const grown = new Uint32Array(chunk.ends.length * 2);
      grown.set(chunk.ends);
      chunk.ends = grown;
    }
    chunk.ends[chunk.count++] = w.pos;
    this.length++;
  }

  take(max: number): SpanBatch<Uint8Array> {
    const parts: Part[] = [];
    let left = Math.min(max, this.length);
    for (const chunk of this.chunks) {
      if (left === 0) break;
      const count = Math.min(left, chunk.count);
      if (count === 0) continue;
      parts.push({ chunk, count, bytes: chunk.ends[count - 1]! });
      left -= count;
    }
    const body = assemble(parts, this.spare);
    this.spare = undefined;
    this.lent = body.buffer;
    let count = 0;
    for (const p of parts) {
      const chunk = p.chunk;
      const { w, ends } = chunk;
      w.buf.copyWithin(0, p.bytes, w.pos);
      w.pos -= p.bytes;
      ends.copyWithin(0, p.count, chunk.count);
      chunk.count -= p.count;
      for (let i = 0; i < chunk.count; i++) ends[i]! -= p.bytes;
      w.shrink();
      count += p.count;
    }
    this.length -= count;
    // Scopes come and go (a tracer per library); an empty chunk is dropped rather than kept forever.
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      if (this.chunks[i]!.count === 0 && this.chunks.length > 4) {
        if (this.last === this.chunks[i]) this.last = undefined;
        this.chunks.splice(i, 1);
      }
    }
    return { count, data: body };
  }

  // A fresh buffer for every batch cost ~90 ns a span on Node 24 (a 150 kB allocation, V8's
  // accounting of it, and writing memory no cache has seen), a reused one ~10 ns. Only a batch the
  // collector accepted comes back: one whose export failed or timed out may still be read by a
  // request in flight.
  recycle(batch: SpanBatch<Uint8Array>): void {
    const memory = batch.data.buffer;
    if (memory !== this.lent || memory.byteLength > SPARE_MAX_BYTES) return;
    this.lent = undefined;
    this.spare = Buffer.from(memory, 0, memory.byteLength);
  }
}

/** ExportTraceServiceRequest { ResourceSpans(1) { Resource(1), ScopeSpans(2) { scope(1), spans(2)… } } }. */
function assemble(parts: readonly Part[], spare: Buffer | undefined): Uint8Array {
  // Group the parts by resource; almost always there is one.
  const byResource = new Map<Resource, Part[]>();
  for (const p of parts) {
    const list = byResource.get(p.chunk.resource);
    if (list === undefined) byResource.set(p.chunk.resource, [p]);
    else list.push(p);
  }
  let total = 0;
  for (const list of byResource.values()) {
    const inner = resourceSpansSize(list);
    total += 1 + varintSize(inner) + inner;
  }
  // Its own memory, never a slice of Node's shared pool, so that it can be recycled; with room to
  // spare, as the next batch is rarely exactly as long.
  const fits = spare !== undefined && spare.length >= total;
  const w = new Writer(total, fits ? spare : Buffer.allocUnsafeSlow(Math.max(total + (total >>> 2), 4096)));
  for (const list of byResource.values()) {
    w.tag(1, LEN);
    w.varint(resourceSpansSize(list));
    w.buf.set(list[0]!.chunk.resourceField, w.pos);
    w.pos += list[0]!.chunk.resourceField.length;
    for (const p of list) {
      w.tag(2, LEN);
      w.varint(p.chunk.scopeField.length + p.bytes);
      w.buf.set(p.chunk.scopeField, w.pos);
      w.pos += p.chunk.scopeField.length;
      p.chunk.w.buf.copy(w.buf, w.pos, 0, p.bytes);
      w.pos += p.bytes;
    }
  }
  // A plain view of the same memory: @types/node 20 Buffer does not type-check as Uint8Array under TS 5.7+.
  return new Uint8Array(w.buf.buffer, w.buf.byteOffset, w.pos);
}

function resourceSpansSize(list: readonly Part[]): number {
  let n = list[0]!.chunk.resourceField.length;
  for (const p of list) {
    const scopeSpans = p.chunk.scopeField.length + p.bytes;
    n += 1 + varintSize(scopeSpans) + scopeSpans;
  }
  return n;
}

/** Concatenated requests are one request: protobuf merges repeated fields (the crash flush relies on it). */
export function concatBodies(bodies: readonly Uint8Array[]): Uint8Array {
  return bodies.length === 1 ? bodies[0]! : new Uint8Array(Buffer.concat(bodies));
}

/** One batch, encoded at once (tests, and any caller holding finished spans). */
export function encodeOtlpProto(spans: readonly FinishedSpan[]): Uint8Array {
  const q = new ProtoSpanQueue();
  for (const s of spans) q.push(s);
  return q.take(spans.length).data;
}
