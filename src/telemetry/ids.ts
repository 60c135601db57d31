// Trace and span ids come from a pool of random 16-bit words refilled in bulk (random.ts): one
// read per 64 KiB (about 2,700 root spans) instead of one per id. The hex is built with one
// String.fromCharCode call from a table, ~2.5× faster than Buffer#toString('hex') on Node 20–24,
// which pays a native call per id.
//
// The ids stay plain strings on a plain SpanContext object: apps spread, clone and compare span
// contexts, so laziness through getters on that object would break them. A recording span is
// born with its ids' words (SpanIdWords) only, which the protobuf encoder writes as they are
// (parsing hex back took two charCodeAt a byte, ~1,700 instructions a root span on Node 24); it
// formats the hex, and builds its SpanContext, the first time something asks (span.ts).
import { fillRandom } from './random.js';

const POOL_WORDS = 32768;
const pool = new Uint16Array(POOL_WORDS);
const poolBytes = new Uint8Array(pool.buffer);
let next = POOL_WORDS;

// The words of the last trace id newTraceId() drew, for spanIdWords(): valid until the next one.
const lastTrace = new Uint16Array(8);

/**
 * Reserves `n` words of the pool (4 or 8) and returns the index of the first: the caller reads
 * pool[at … at + n − 1] itself. One check and one store of `next` per id, not per word (a root
 * span draws 12 words): −311 instructions a hello-world request with full export on Node 24.
 * A refill discards the few words left at the end of the pool.
 */
function reserve(n: number): number {
  let at = next;
  if (at + n > POOL_WORDS) {
    fillRandom(poolBytes);
    at = 0;
  }
  next = at + n;
  return at;
}

const HEX = new Uint16Array(16);
for (let i = 0; i < 16; i++) HEX[i] = '0123456789abcdef'.charCodeAt(i);
const fromCharCode = String.fromCharCode;

/** Four words as 16 lower-case hex digits. */
function hex4(a: number, b: number, c: number, d: number): string {
  return fromCharCode(
    HEX[a >>> 12]!, HEX[(a >>> 8) & 15]!, HEX[(a >>> 4) & 15]!, HEX[a & 15]!,
    HEX[b >>> 12]!, HEX[(b >>> 8) & 15]!, HEX[(b >>> 4) & 15]!, HEX[b & 15]!,
    HEX[c >>> 12]!, HEX[(c >>> 8) & 15]!, HEX[(c >>> 4) & 15]!, HEX[c & 15]!,
    HEX[d >>> 12]!, HEX[(d >>> 8) & 15]!, HEX[(d >>> 4) & 15]!, HEX[d & 15]!,
  );
}

/** Eight words as 32 hex digits, one flat string (a `+` of two halves would be a cons string). */
function hex8(a: number, b: number, c: number, d: number, e: number, f: number, g: number, h: number): string {
  return fromCharCode(
    HEX[a >>> 12]!, HEX[(a >>> 8) & 15]!, HEX[(a >>> 4) & 15]!, HEX[a & 15]!,
    HEX[b >>> 12]!, HEX[(b >>> 8) & 15]!, HEX[(b >>> 4) & 15]!, HEX[b & 15]!,
    HEX[c >>> 12]!, HEX[(c >>> 8) & 15]!, HEX[(c >>> 4) & 15]!, HEX[c & 15]!,
    HEX[d >>> 12]!, HEX[(d >>> 8) & 15]!, HEX[(d >>> 4) & 15]!, HEX[d & 15]!,
    HEX[e >>> 12]!, HEX[(e >>> 8) & 15]!, HEX[(e >>> 4) & 15]!, HEX[e & 15]!,
    HEX[f >>> 12]!, HEX[(f >>> 8) & 15]!, HEX[(f >>> 4) & 15]!, HEX[f & 15]!,
    HEX[g >>> 12]!, HEX[(g >>> 8) & 15]!, HEX[(g >>> 4) & 15]!, HEX[g & 15]!,
    HEX[h >>> 12]!, HEX[(h >>> 8) & 15]!, HEX[(h >>> 4) & 15]!, HEX[h & 15]!,
  );
}

// All-zero ids are invalid in W3C Trace Context; with 64+ random bits this is astronomically
// rare, but the spec says never, so the words are drawn again.

export function newTraceId(): string {
  for (;;) {
    const i = reserve(8);
    const a = pool[i]!, b = pool[i + 1]!, c = pool[i + 2]!, d = pool[i + 3]!;
    const e = pool[i + 4]!, f = pool[i + 5]!, g = pool[i + 6]!, h = pool[i + 7]!;
    if ((a | b | c | d | e | f | g | h) !== 0) {
      lastTrace[0] = a; lastTrace[1] = b; lastTrace[2] = c; lastTrace[3] = d;
      lastTrace[4] = e; lastTrace[5] = f; lastTrace[6] = g; lastTrace[7] = h;
      return hex8(a, b, c, d, e, f, g, h);
    }
  }
}

export function newSpanId(): string {
  for (;;) {
    const i = reserve(4);
    const a = pool[i]!, b = pool[i + 1]!, c = pool[i + 2]!, d = pool[i + 3]!;
    if ((a | b | c | d) !== 0) {
      return hex4(a, b, c, d);
    }
  }
}

/**
 * A random (version 4) UUID, from the same pool: node:crypto's randomUUID would load node:crypto
 * at start-up (random.ts) for the resource's service.instance.id.
 */
export function newUuid(): string {
  const i = reserve(8);
  const h = hex8(pool[i]!, pool[i + 1]!, pool[i + 2]!, (pool[i + 3]! & 0x0fff) | 0x4000, (pool[i + 4]! & 0x3fff) | 0x8000, pool[i + 5]!, pool[i + 6]!, pool[i + 7]!);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Whether `id` is `chars` hex digits, either case (all zeros included: an invalid id, but a
 * well-formed one). Ids that reach the encoder are: ours, a traceparent's (checked when
 * extracted), a parent's (checked by the tracer) and a link's (checked by pushLink).
 */
export function isHexId(id: unknown, chars: number): id is string {
  if (typeof id !== 'string' || id.length !== chars) return false;
  for (let i = 0; i < chars; i++) {
    const c = id.charCodeAt(i) | 32; // 'A'–'F' → 'a'–'f'; digits are unchanged
    if ((c < 48 || c > 57) && (c < 97 || c > 102)) return false;
  }
  return true;
}

/** Writes a well-formed hex id (isHexId) as bytes at buf[at]: hex.length / 2 of them. */
export function hexToBytes(hex: string, buf: Uint8Array, at: number): void {
  const n = hex.length;
  for (let i = 0; i < n; i += 2) buf[at++] = (hexDigit(hex.charCodeAt(i)) << 4) | hexDigit(hex.charCodeAt(i + 1));
}

/**
 * A hex digit's value, computed, not looked up: (c & 15) + 9 * (c >> 6) is c − '0' for a digit
 * and 10–15 for 'a'–'f' and 'A'–'F'.
 */
function hexDigit(c: number): number {
  return (c & 15) + 9 * (c >> 6);
}

/**
 * A recording span's trace id, span id and parent span id as 16-bit words, most significant
 * first: the same values as its hex ids. Small integers in plain fields, so making one is a few
 * stores and writing one out a shift and a store a byte.
 */
export class SpanIdWords {
  t0 = 0; t1 = 0; t2 = 0; t3 = 0; t4 = 0; t5 = 0; t6 = 0; t7 = 0;
  s0 = 0; s1 = 0; s2 = 0; s3 = 0;
  p0 = 0; p1 = 0; p2 = 0; p3 = 0;
  hasParent = false;
}

/** A span id's words, drawn into w.s0–s3. */
function drawSpanWords(w: SpanIdWords): void {
  for (;;) {
    const i = reserve(4);
    const a = pool[i]!, b = pool[i + 1]!, c = pool[i + 2]!, d = pool[i + 3]!;
    if ((a | b | c | d) !== 0) {
      w.s0 = a; w.s1 = b; w.s2 = c; w.s3 = d;
      return;
    }
  }
}

/** A trace id's words, drawn into w.t0–t7. */
function drawTraceWords(w: SpanIdWords): void {
  for (;;) {
    const i = reserve(8);
    const a = pool[i]!, b = pool[i + 1]!, c = pool[i + 2]!, d = pool[i + 3]!;
    const e = pool[i + 4]!, f = pool[i + 5]!, g = pool[i + 6]!, h = pool[i + 7]!;
    if ((a | b | c | d | e | f | g | h) !== 0) {
      w.t0 = a; w.t1 = b; w.t2 = c; w.t3 = d; w.t4 = e; w.t5 = f; w.t6 = g; w.t7 = h;
      return;
    }
  }
}

/**
 * A new recording span's ids as words, its span id freshly drawn. Its trace id: for a root, the
 * one newTraceId() drew last when `rootTraceIdDrawn` (a ratio sampler decided by it; nothing has
 * been drawn since), else freshly drawn; for a child, the parent's, copied from the parent's words
 * when it is a local recording span, or parsed once from the parent's hex ids (valid, as the
 * tracer checked: either case).
 */
export function spanIdWords(
  parent: { readonly traceId: string; readonly spanId: string } | undefined,
  parentWords: SpanIdWords | undefined,
  rootTraceIdDrawn: boolean,
): SpanIdWords {
  const w = new SpanIdWords();
  drawSpanWords(w);
  if (parent === undefined) {
    if (!rootTraceIdDrawn) drawTraceWords(w);
    else {
      w.t0 = lastTrace[0]!;
      w.t1 = lastTrace[1]!;
      w.t2 = lastTrace[2]!;
      w.t3 = lastTrace[3]!;
      w.t4 = lastTrace[4]!;
      w.t5 = lastTrace[5]!;
      w.t6 = lastTrace[6]!;
      w.t7 = lastTrace[7]!;
    }
    return w;
  }
  w.hasParent = true;
  if (parentWords !== undefined) {
    w.t0 = parentWords.t0;
    w.t1 = parentWords.t1;
    w.t2 = parentWords.t2;
    w.t3 = parentWords.t3;
    w.t4 = parentWords.t4;
    w.t5 = parentWords.t5;
    w.t6 = parentWords.t6;
    w.t7 = parentWords.t7;
    w.p0 = parentWords.s0;
    w.p1 = parentWords.s1;
    w.p2 = parentWords.s2;
    w.p3 = parentWords.s3;
    return w;
  }
  const t = parent.traceId;
  w.t0 = hexWord(t, 0);
  w.t1 = hexWord(t, 4);
  w.t2 = hexWord(t, 8);
  w.t3 = hexWord(t, 12);
  w.t4 = hexWord(t, 16);
  w.t5 = hexWord(t, 20);
  w.t6 = hexWord(t, 24);
  w.t7 = hexWord(t, 28);
  const sp = parent.spanId;
  w.p0 = hexWord(sp, 0);
  w.p1 = hexWord(sp, 4);
  w.p2 = hexWord(sp, 8);
  w.p3 = hexWord(sp, 12);
  return w;
}

/** The four hex digits at hex[at] as a number. */
function hexWord(hex: string, at: number): number {
  let n = 0;
  for (let i = at; i < at + 4; i++) n = (n << 4) | hexDigit(hex.charCodeAt(i));
  return n;
}

/** The trace id of `w` as 32 lower-case hex digits. */
export function traceIdHex(w: SpanIdWords): string {
  return hex8(w.t0, w.t1, w.t2, w.t3, w.t4, w.t5, w.t6, w.t7);
}

/** The span id of `w` as 16 lower-case hex digits. */
export function spanIdHex(w: SpanIdWords): string {
  return hex4(w.s0, w.s1, w.s2, w.s3);
}
