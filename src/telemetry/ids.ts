// Trace and span ids come from a pool of random bytes refilled in bulk: one crypto call per
// 64 KiB (about 2,700 spans) instead of one per id, which keeps id generation off the
// per-request profile.
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 65536;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

function take(bytes: number): string {
  for (;;) {
    if (offset + bytes > POOL_SIZE) {
      randomFillSync(pool);
      offset = 0;
    }
    const start = offset;
    offset += bytes;
    // All-zero ids are invalid in W3C Trace Context; with 64+ random bits this is
    // astronomically rare, but the spec says never, so draw again.
    for (let i = start; i < start + bytes; i++) {
      if (pool[i] !== 0) return pool.toString('hex', start, start + bytes);
    }
  }
}

export function newTraceId(): string {
  return take(16);
}

export function newSpanId(): string {
  return take(8);
}
