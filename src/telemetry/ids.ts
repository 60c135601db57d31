// Trace and span ids come from a pool of random 16-bit words refilled in bulk: one crypto call per
// 64 KiB (about 2,700 root spans) instead of one per id. The hex is built with one
// String.fromCharCode call from a table, ~2.5× faster than Buffer#toString('hex') on Node 20–24,
// which pays a native call per id.
//
// The ids stay plain strings on a plain SpanContext object: apps spread, clone and compare span
// contexts, so laziness through getters (tried: −0.3 µs a request) would break them; the
// protobuf encoder parses the hex back with hexToBytes.
import { randomFillSync } from 'node:crypto';

const POOL_WORDS = 32768;
const pool = new Uint16Array(POOL_WORDS);
let next = POOL_WORDS;

function draw(): number {
  if (next === POOL_WORDS) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]!;
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
    const a = draw(), b = draw(), c = draw(), d = draw(), e = draw(), f = draw(), g = draw(), h = draw();
    if ((a | b | c | d | e | f | g | h) !== 0) return hex8(a, b, c, d, e, f, g, h);
  }
}

export function newSpanId(): string {
  for (;;) {
    const a = draw(), b = draw(), c = draw(), d = draw();
    if ((a | b | c | d) !== 0) return hex4(a, b, c, d);
  }
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

/**
 * Writes a well-formed hex id (isHexId) as bytes at buf[at]: hex.length / 2 of them. A digit's
 * value is computed, not looked up: (c & 15) + 9 * (c >> 6) is c − '0' for a digit and 10–15
 * for 'a'–'f' and 'A'–'F'.
 */
export function hexToBytes(hex: string, buf: Uint8Array, at: number): void {
  const n = hex.length;
  for (let i = 0; i < n; i += 2) {
    const h = hex.charCodeAt(i);
    const l = hex.charCodeAt(i + 1);
    buf[at++] = (((h & 15) + 9 * (h >> 6)) << 4) | ((l & 15) + 9 * (l >> 6));
  }
}
