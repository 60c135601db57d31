// OTLP/protobuf KeyValues (common.proto: AnyValue, ArrayValue, KeyValue) for otlp-proto.ts: the
// attributes of resources, events and links, and those of spans, whose repeating pairs are kept
// encoded and copied rather than encoded again.
import type { AttributeValue } from '../types.js';
import { LEN, Writer, varintSize } from './proto-writer.js';

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
// an app minting keys or long values cannot grow it (KEY_CACHE_MAX keys for each span kind).
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
// Below this, a JavaScript loop copies faster than TypedArray#set (Node 24.22.3).
const LOOP_COPY_MAX = 16;

class KeyEntry {
  /** The last primitive value seen under this key in span attributes. */
  value: string | number | boolean | undefined = undefined;
  /** arena[pairStart, pairEnd) is the KeyValue (Span field 9) for `value`, when pairGeneration is current. */
  pairStart = 0;
  pairEnd = 0;
  pairGeneration = 0;
  /**
   * A view of arena[runStart, runEnd): the run of pairs last copied from this entry's pair on.
   * The same keys recur in the same order, so a span's runs recur too: copying a run through
   * its kept view (TypedArray#set) took ~20 ns whatever its length, against ~45–65 ns for
   * Buffer#copy's native call and ~40 ns for a 30-byte loop (Node 24.22.3).
   */
  run: Uint8Array | undefined = undefined;
  runStart = 0;
  runEnd = 0;
  constructor(
    readonly name: string,
    readonly key: Uint8Array,
  ) {}
}

/**
 * The entries of one span kind. A service's SERVER span and the CLIENT spans it makes alternate
 * and share keys with other values (server.port is the service's own port on one, the upstream's
 * on the other), so with one set of entries each span replaced what the other had remembered and
 * matched no key by position: the proxy app's spans took nearly twice as long to encode, 311
 * against 161 ns a span (benchmarks/encode.mjs, Node 24.22.3).
 */
class KindEntries {
  readonly keys = new Map<string, KeyEntry>();
  // The entries of the last span attributes of this kind encoded, in order: spans of one kind set
  // the same keys in the same order, and for-in yields internalized strings, so `===` against the
  // name of the entry at the same position is a pointer comparison where keys.get() would hash
  // and probe. One array of entries rather than keys beside entries: one load fewer a key (−76
  // instructions a server span on Node 24).
  readonly last: (KeyEntry | undefined)[] = [];
}

/** By api SpanKind (INTERNAL 0 … CONSUMER 4); resource, event and link attributes use INTERNAL's keys. */
const byKind = [new KindEntries(), new KindEntries(), new KindEntries(), new KindEntries(), new KindEntries()];

function keyEntry(kind: KindEntries, key: string): KeyEntry | undefined {
  const keys = kind.keys;
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

// A number that changes from one span to the next (a peer port: consecutive requests come from
// different connections) is encoded every time: for a non-negative integer under a short key, the
// KeyValue's lengths are known before it is written, so it goes without the general path's
// reserved lengths, type switch and 64-bit varint.
const SMALL_KEY_MAX = 100; // KeyValue.key field: with any such value, the pair's length is one byte

/** A span attribute's KeyValue for `key` (its encoded KeyValue.key field) = AnyValue{int_value: n}, n a non-negative safe integer. */
function uintPair(w: Writer, key: Uint8Array, n: number): void {
  const size = varintSize(n);
  w.ensure(2);
  w.buf[w.pos++] = (SPAN_ATTRIBUTES << 3) | LEN; // Span field 9
  w.buf[w.pos++] = key.length + 3 + size;
  w.raw(key);
  w.ensure(3);
  w.buf[w.pos++] = 0x12; // KeyValue field 2 (value), LEN
  w.buf[w.pos++] = 1 + size;
  w.buf[w.pos++] = 0x18; // AnyValue field 3 (int_value), VARINT
  w.varint(n);
}

/** Appends arena[from.pairStart, end) to w: a run of remembered pairs that starts at `from`'s. */
function copyRun(w: Writer, from: KeyEntry, end: number): void {
  const start = from.pairStart;
  const n = end - start;
  w.ensure(n);
  if (n <= LOOP_COPY_MAX) {
    const buf = w.buf;
    let p = w.pos;
    for (let i = start; i < end; i++) buf[p++] = arena[i]!;
    w.pos = p;
    return;
  }
  let run = from.run;
  // A view is a window on the arena, not a copy: the same bounds show the bytes there now.
  if (run === undefined || from.runStart !== start || from.runEnd !== end) {
    run = from.run = arena.subarray(start, end);
    from.runStart = start;
    from.runEnd = end;
  }
  w.buf.set(run, w.pos);
  w.pos += n;
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

/** Resource, event and link attributes: each KeyValue encoded, keys from the cache. */
export function attributes(w: Writer, field: number, attrs: Readonly<Record<string, AttributeValue | undefined>>): void {
  for (const key in attrs) {
    const value = attrs[key];
    if (value === undefined || value === null) continue;
    keyValue(w, field, key, keyEntry(byKind[0]!, key), value);
  }
}

/**
 * Span attributes (Span field 9), where the remembered pairs pay off. A function of their own,
 * not a branch of attributes(), so that its type feedback (V8 keeps it per function) sees only
 * span attribute objects: −76 instructions a server span on Node 24, and none of the branches
 * for the other fields.
 */
export function spanAttributes(w: Writer, attrs: Readonly<Record<string, AttributeValue | undefined>>, spanKind: number): void {
  const kind = byKind[spanKind] ?? byKind[0]!;
  const lastEntries = kind.last;
  // The run of remembered pairs met so far and not yet copied: from runFrom's pair to runEnd.
  let runFrom: KeyEntry | undefined;
  let runEnd = 0;
  let i = 0;
  for (const key in attrs) {
    const value = attrs[key];
    if (value === undefined || value === null) continue;
    let e = lastEntries[i];
    if (e === undefined || e.name !== key) {
      e = keyEntry(kind, key);
      if (i < 64) lastEntries[i] = e;
    }
    i++;
    if (e !== undefined && value === e.value && e.pairGeneration === generation) {
      if (runFrom === undefined) runFrom = e;
      else if (e.pairStart !== runEnd) {
        copyRun(w, runFrom, runEnd);
        runFrom = e;
      }
      runEnd = e.pairEnd;
      continue;
    }
    // A pair that is not remembered is written now, ahead of the run still pending, which goes on
    // past it: a peer port that changes from span to span no longer splits a server span's
    // remembered pairs into two copies. Attributes are a map, so their order carries no meaning.
    if (e === undefined || typeof value === 'object') {
      keyValue(w, SPAN_ATTRIBUTES, key, e, value);
    } else if (value !== e.value) {
      e.value = typeof value !== 'string' || value.length <= VALUE_MAX_CHARS ? (value as string | number | boolean) : undefined;
      e.pairGeneration = 0;
      if (typeof value === 'number' && value >= 0 && Number.isSafeInteger(value) && e.key.length <= SMALL_KEY_MAX) uintPair(w, e.key, value);
      else keyValue(w, SPAN_ATTRIBUTES, key, e, value);
    } else {
      // Seen twice in a row (or forgotten with the last arena): worth keeping. Keeping may start a
      // new arena over the pending run's bytes, so they are copied first.
      if (runFrom !== undefined) copyRun(w, runFrom, runEnd);
      runFrom = undefined;
      const start = w.pos;
      keyValue(w, SPAN_ATTRIBUTES, key, e, value);
      keep(w, e, start);
    }
  }
  if (runFrom !== undefined) copyRun(w, runFrom, runEnd);
}
