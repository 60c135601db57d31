// The protobuf wire format, as much of it as OTLP needs: varints, fixed-width numbers, strings and
// bytes, and length-delimited fields written in one pass. A length-delimited field reserves room
// for its length, the body is written after it, and the length is filled in at the end; when the
// reserved room was the wrong size the body is moved, so every varint stays minimal.
import { toMicros } from './otlp-json.js';
import { hexToBytes } from '../ids.js';

const VARINT = 0;
const I64 = 1;
export const LEN = 2;
const I32 = 5;
const TWO_POW_32 = 4294967296;

export function varintSize(n: number): number {
  let size = 1;
  while (n > 127) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/**
 * The low 32 bits of n at p, little-endian. Through the DataView, which V8 compiles to one
 * store; not writeUInt32LE, whose argument checks were an eighth of a span's encoding.
 */
function put32(view: DataView, p: number, n: number): void {
  view.setUint32(p, n, true);
}

/**
 * A *_unix_nano fixed64 field (`tag`, one byte: the fields are all below 16) from epoch
 * milliseconds at p, without going through BigInt; nothing when zero, as proto3 leaves
 * defaults out. Returns the position after it. The caller has made room for 9 bytes.
 */
export function putNanos(view: DataView, p: number, tag: number, ms: number): number {
  const us = toMicros(ms);
  if (us === 0) return p;
  view.setUint8(p, tag);
  // us * 1000 split into 32-bit halves; every intermediate stays below 2^53, so it is exact.
  const usHi = Math.floor(us / TWO_POW_32);
  const lo = (us - usHi * TWO_POW_32) * 1000;
  const carry = Math.floor(lo / TWO_POW_32);
  put32(view, p + 1, lo - carry * TWO_POW_32);
  put32(view, p + 5, usHi * 1000 + carry);
  return p + 9;
}

export class Writer {
  pos = 0;
  buf: Buffer;
  /**
   * buf as a DataView: one store for a 16- or 32-bit number where byte stores took two or four.
   * Set with buf, by use() only.
   */
  view: DataView;

  constructor(
    readonly initialSize: number,
    buf?: Buffer,
  ) {
    this.buf = buf ?? Buffer.allocUnsafe(initialSize);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** Writes into `next` from now on (its first `pos` bytes already copied by the caller). */
  private use(next: Buffer): void {
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.use(next);
  }

  /** After a burst: give back a buffer that grew large, once it is (nearly) empty again. */
  shrink(): void {
    if (this.buf.length > 4 * this.initialSize && this.pos < this.initialSize / 2) {
      const next = Buffer.allocUnsafe(this.initialSize);
      this.buf.copy(next, 0, 0, this.pos);
      this.use(next);
    }
  }

  varint(n: number): void {
    this.ensure(10);
    const buf = this.buf;
    while (n > 127) {
      buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128); // not >>> 7: lengths and counts may exceed 2^31
    }
    buf[this.pos++] = n;
  }

  tag(field: number, wireType: number): void {
    const t = field * 8 + wireType;
    if (t > 127) return this.varint(t);
    // Fields 1–15, all but one of a span's: one byte.
    this.ensure(1);
    this.buf[this.pos++] = t;
  }

  /** Opens a length-delimited field; returns where its body starts, for end(). */
  begin(field: number, reserve: number): number {
    if (field > 15) {
      this.tag(field, LEN);
      this.ensure(reserve);
      this.pos += reserve;
      return this.pos;
    }
    // A one-byte tag (every length-delimited field OTLP has but one): one bounds check, no call.
    this.ensure(1 + reserve);
    this.buf[this.pos] = (field << 3) | LEN;
    return (this.pos += 1 + reserve);
  }

  end(start: number, reserve: number): void {
    const len = this.pos - start;
    const size = varintSize(len);
    if (size !== reserve) {
      this.ensure(size - reserve);
      this.buf.copyWithin(start + size - reserve, start, this.pos);
      this.pos += size - reserve;
    }
    let p = start - reserve;
    let n = len;
    while (n > 127) {
      this.buf[p++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[p] = n;
  }

  uint(field: number, n: number): void {
    if (n === 0) return; // proto3 leaves default scalars out
    this.tag(field, VARINT);
    this.varint(n >>> 0);
  }

  /** Always written, for members of a oneof (AnyValue), where presence carries meaning. */
  int64(field: number, n: number): void {
    this.tag(field, VARINT);
    this.ensure(10);
    // Two's complement over 64 bits; ToUint32 is exact for any safe integer.
    let lo = n >>> 0;
    let hi = Math.floor(n / TWO_POW_32) >>> 0;
    while (hi !== 0 || lo > 127) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }

  bool(field: number, b: boolean): void {
    this.tag(field, VARINT);
    this.ensure(1);
    this.buf[this.pos++] = b ? 1 : 0;
  }

  double(field: number, n: number): void {
    this.tag(field, I64);
    this.ensure(8);
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  fixed32(field: number, n: number): void {
    if (n === 0) return;
    this.tag(field, I32);
    this.ensure(4);
    put32(this.view, this.pos, n);
    this.pos += 4;
  }

  /** A *_unix_nano fixed64 from epoch milliseconds (putNanos); left out when zero. */
  nanos(field: number, ms: number): void {
    this.ensure(9);
    this.pos = putNanos(this.view, this.pos, field * 8 + I64, ms);
  }

  /** Written even when empty inside a oneof; elsewhere callers skip empty strings. */
  string(field: number, s: string): void {
    const n = s.length;
    if (n < 128 && field < 16) {
      // Assume ASCII (one byte per UTF-16 unit, so the length fits one byte) and copy in a loop,
      // which beats a native call for short strings; tag and length are one byte each, written
      // with the same bounds check. Start again on the first character that is not.
      this.ensure(n + 2);
      const buf = this.buf;
      const at = this.pos;
      let p = at + 2;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[at] = (field << 3) | LEN;
        buf[at + 1] = n;
        this.pos = p;
        return;
      }
    }
    this.tag(field, LEN);
    const bytes = Buffer.byteLength(s, 'utf8');
    this.varint(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(s, this.pos, bytes, 'utf8');
  }

  optString(field: number, s: string | undefined): void {
    if (s) this.string(field, s);
  }

  /**
   * A hex trace or span id (isHexId) as raw bytes. Ids are 16 or 8 bytes and their fields below 16,
   * so tag and length are one byte each and the whole field needs one bounds check.
   */
  hexBytes(field: number, hex: string | undefined): void {
    if (!hex) return;
    const n = hex.length >>> 1;
    this.ensure(n + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = (field << 3) | LEN;
    buf[p++] = n;
    hexToBytes(hex, buf, p);
    this.pos = p + n;
  }

  /** Bytes already encoded (a field with its tag). A loop: shorter than a native call's overhead. */
  raw(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, LEN);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}
