// Per-request state hung on the request's own objects (req, a ClientRequest, undici's Request,
// an Express router's `next`), under a symbol key, instead of in a WeakMap keyed by them.
//
// A WeakMap was the first version and measured badly on Node 24 (V8 13.6): with one entry per
// request, every request's objects survived their first scavenge, the young generation grew
// from ~3 MB to ~48 MB, each scavenge took ~5.6 ms instead of ~0.1 ms, p99 at half load went
// ×4 and RSS after load +110 MB (`--trace-gc` of benchmarks/apps/hello.js under load). A property
// dies with its object like any other field. The property is a plain store (Object.defineProperty
// to hide it costs ~90 ns); the records it holds print as one short line in util.inspect.

export interface Slot<T> {
  get(holder: object): T | undefined;
  set(holder: object, value: T): void;
  clear(holder: object): void;
}

export function slot<T>(description: string): Slot<T> {
  const key = Symbol(description);
  return {
    get: (holder) => (holder as Record<symbol, T | undefined>)[key],
    set(holder, value) {
      (holder as Record<symbol, T | undefined>)[key] = value;
    },
    clear(holder) {
      const h = holder as Record<symbol, T | undefined>;
      if (h[key] !== undefined) h[key] = undefined;
    },
  };
}

/** For record classes stored in a slot: `util.inspect(req)` shows this, not the whole span. */
export const inspectAs = Symbol.for('nodejs.util.inspect.custom');
