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
import type { AttributeValue, FinishedSpan, InstrumentationScope, Resource, SpanEventData, SpanLinkData } from '../types.js';
import type { SpanBatch, SpanQueue } from '../span-queue.js';
import type { SpanIdWords } from '../ids.js';
import { linkFlags, spanFlags } from './otlp-json.js';
import { LEN, Writer, varintSize } from './proto-writer.js';

// --- common.proto: AnyValue, ArrayValue, KeyValue -------------------------------------------------

function anyValue(w: Writer, field: number, v: unknown): void {
  const at = w.begin(field, 1);
  switch (typeof v) {
    case 'string':
      w.string(1, v);
      break;
    case 'boolean':
      w.bool(2, v);
      break;
    case 'number':
      if (Number.isSafeInteger(v)) w.int64(3, v);
      else w.double(4, v);
      break;
    case 'object':
      if (Array.isArray(v)) {
        const arr = w.begin(5, 2);
        for (const item of v) anyValue(w, 1, item);
        w.end(arr, 2);
      }
      break; // null: an empty AnyValue
    default:
  }
  w.end(at, 1);
}

// Per attribute key: its KeyValue.key field (tag and length included), and the whole KeyValue of
// a span attribute for the last value seen under it. The same few dozen keys recur on every span,
// and most of their values repeat from one span to the next (method, scheme, status, addresses):
// those are copied, not encoded. A value that changes every time (a peer port) only replaces the
// remembered one; its bytes are kept once it repeats. Bounded in keys and in bytes per entry, so
// an app minting keys or long values cannot grow it.
const KEY_CACHE_MAX = 1024;
const KEY_MAX_CHARS = 127;
const VALUE_MAX_CHARS = 256;
const PAIR_MAX_BYTES = 512;
const SPAN_ATTRIBUTES = 9;

// The remembered KeyValues live side by side in one arena, in the order they were first kept,
// which is the order an instrumentation sets them: a span's repeating attributes are a few runs
// of adjacent bytes there, each copied at once. Copying pair by pair, in a loop or with one native
// call each, was ~40 % of a server span's encoding (11 attributes, ~300 bytes). When the arena is
// full it starts again empty, and every pair kept in it is forgotten (a new generation).
const ARENA_BYTES = 64 * 1024;
const arena = Buffer.allocUnsafe(ARENA_BYTES);
let arenaUsed = 0;
let generation = 1;
// Below this, a JavaScript loop copies faster than Buffer#copy's native call (Node 20–24).
const LOOP_COPY_MAX = 48;

class KeyEntry {
  /** The last primitive value seen under this key in span attributes. */
  value: string | number | boolean | undefined = undefined;
  /** arena[pairStart, pairEnd) is the KeyValue (Span field 9) for `value`, when pairGeneration is current. */
  pairStart = 0;
  pairEnd = 0;
  pairGeneration = 0;
  constructor(
    readonly name: string,
    readonly key: Uint8Array,
  ) {}
}

const keys = new Map<string, KeyEntry>();

function keyEntry(key: string): KeyEntry | undefined {
  let e = keys.get(key);
  if (e === undefined && keys.size < KEY_CACHE_MAX && key.length <= KEY_MAX_CHARS) {
    const w = new Writer(key.length * 3 + 4);
    w.string(1, key);
    e = new KeyEntry(key, Uint8Array.prototype.slice.call(w.buf, 0, w.pos));
    keys.set(key, e);
  }
  return e;
}

function keyValue(w: Writer, field: number, key: string, e: KeyEntry | undefined, value: AttributeValue): void {
  const at = w.begin(field, 1);
  if (e === undefined) w.string(1, key);
  else w.raw(e.key);
  anyValue(w, 2, value);
  w.end(at, 1);
}

/** Appends arena[start, end) to w. */
function copyFromArena(w: Writer, start: number, end: number): void {
  const n = end - start;
  w.ensure(n);
  if (n > LOOP_COPY_MAX) {
    arena.copy(w.buf, w.pos, start, end);
    w.pos += n;
    return;
  }
  const buf = w.buf;
  let p = w.pos;
  for (let i = start; i < end; i++) buf[p++] = arena[i]!;
  w.pos = p;
}

/** Keeps the KeyValue just written at w.buf[start, w.pos) as e's pair. */
function keep(w: Writer, e: KeyEntry, start: number): void {
  const n = w.pos - start;
  if (n > PAIR_MAX_BYTES) return;
  if (arenaUsed + n > ARENA_BYTES) {
    arenaUsed = 0;
    generation++;
  }
  w.buf.copy(arena, arenaUsed, start, w.pos);
  e.pairStart = arenaUsed;
  e.pairEnd = arenaUsed += n;
  e.pairGeneration = generation;
}

// The entries of the last span attributes encoded, in order: spans of one kind set the same keys
// in the same order, and for-in yields internalized strings, so `===` against the name of the
// entry at the same position is a pointer comparison where keys.get() would hash and probe. One
// array of entries rather than keys beside entries: one load fewer a key (−76 instructions a
// server span on Node 24).
const lastEntries: (KeyEntry | undefined)[] = [];

/** Resource, event and link attributes: each KeyValue encoded, keys from the cache. */
function attributes(w: Writer, field: number, attrs: Readonly<Record<string, AttributeValue | undefined>>): void {
  for (const key in attrs) {
    const value = attrs[key];
    if (value === undefined || value === null) continue;
    keyValue(w, field, key, keyEntry(key), value);
  }
}

/**
 * Span attributes (Span field 9), where the remembered pairs pay off. A function of their own,
 * not a branch of attributes(), so that its type feedback (V8 keeps it per function) sees only
 * span attribute objects: −76 instructions a server span on Node 24, and none of the branches
 * for the other fields.
 */
function spanAttributes(w: Writer, attrs: Readonly<Record<string, AttributeValue | undefined>>): void {
  // The run of remembered pairs met so far and not yet copied: arena[runStart, runEnd).
  let runStart = 0;
  let runEnd = 0;
  let i = 0;
  for (const key in attrs) {
    const value = attrs[key];
    if (value === undefined || value === null) continue;
    let e = lastEntries[i];
    if (e === undefined || e.name !== key) {
      e = keyEntry(key);
      if (i < 64) lastEntries[i] = e;
    }
    i++;
    if (e !== undefined && value === e.value && e.pairGeneration === generation) {
      if (e.pairStart !== runEnd || runStart === runEnd) {
        if (runStart !== runEnd) copyFromArena(w, runStart, runEnd);
        runStart = e.pairStart;
      }
      runEnd = e.pairEnd;
      continue;
    }
    if (runStart !== runEnd) copyFromArena(w, runStart, runEnd);
    runStart = runEnd = 0;
    if (e === undefined || typeof value === 'object') {
      keyValue(w, SPAN_ATTRIBUTES, key, e, value);
    } else if (value !== e.value) {
      e.value = typeof value !== 'string' || value.length <= VALUE_MAX_CHARS ? (value as string | number | boolean) : undefined;
      e.pairGeneration = 0;
      keyValue(w, SPAN_ATTRIBUTES, key, e, value);
    } else {
      // Seen twice in a row (or forgotten with the last arena): worth keeping.
      const start = w.pos;
      keyValue(w, SPAN_ATTRIBUTES, key, e, value);
      keep(w, e, start);
    }
  }
  if (runStart !== runEnd) copyFromArena(w, runStart, runEnd);
}

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

function word(buf: Buffer, p: number, v: number): void {
  buf[p] = v >>> 8;
  buf[p + 1] = v;
}

function traceAndSpanId(w: Writer, iw: SpanIdWords): void {
  w.ensure(28);
  const buf = w.buf;
  const p = w.pos;
  buf[p] = 0x0a; // field 1, LEN
  buf[p + 1] = 16;
  word(buf, p + 2, iw.t0);
  word(buf, p + 4, iw.t1);
  word(buf, p + 6, iw.t2);
  word(buf, p + 8, iw.t3);
  word(buf, p + 10, iw.t4);
  word(buf, p + 12, iw.t5);
  word(buf, p + 14, iw.t6);
  word(buf, p + 16, iw.t7);
  buf[p + 18] = 0x12; // field 2, LEN
  buf[p + 19] = 8;
  word(buf, p + 20, iw.s0);
  word(buf, p + 22, iw.s1);
  word(buf, p + 24, iw.s2);
  word(buf, p + 26, iw.s3);
  w.pos = p + 28;
}

function parentSpanId(w: Writer, iw: SpanIdWords): void {
  w.ensure(10);
  const buf = w.buf;
  const p = w.pos;
  buf[p] = 0x22; // field 4, LEN
  buf[p + 1] = 8;
  word(buf, p + 2, iw.p0);
  word(buf, p + 4, iw.p1);
  word(buf, p + 6, iw.p2);
  word(buf, p + 8, iw.p3);
  w.pos = p + 10;
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
  w.uint(6, s.kind + 1); // api SpanKind INTERNAL=0 is the proto's SPAN_KIND_INTERNAL=1
  w.nanos(7, s.startTime);
  w.nanos(8, s.endTime);
  spanAttributes(w, s.attributes);
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
