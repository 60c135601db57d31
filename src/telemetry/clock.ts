// Span times are epoch milliseconds as floats. performance.now() is monotonic, so durations are
// right even when the wall clock jumps; timeOrigin anchors them to the epoch once.
import { performance } from 'node:perf_hooks';

const origin = performance.timeOrigin;

export function now(): number {
  return origin + performance.now();
}

/** Convert an api TimeInput (ms number, HrTime or Date) to epoch milliseconds. */
export function toEpochMs(t: number | Date | [number, number]): number {
  if (typeof t === 'number') {
    // Values below the year 2000 in ms are performance.now()-style offsets, as the OTel SDK treats them.
    return t < 946_684_800_000 ? origin + t : t;
  }
  if (t instanceof Date) return t.getTime();
  return t[0] * 1e3 + t[1] / 1e6;
}
