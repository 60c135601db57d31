// Deterministic fuzzing for the header parsers: a seeded PRNG, so a failing case can be
// replayed from its seed and index, and a string mutator over a caller-chosen alphabet.

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One to three edits of `input`: replace, insert or delete a character from `alphabet`, or cut the
 * string short. With `withSplice`, a fifth edit appends '-' and a tail of the string (grows
 * dash-separated headers such as traceparent past their field count).
 */
export function mutate(input, random, alphabet, withSplice = false) {
  let s = input;
  const steps = 1 + Math.floor(random() * 3);
  for (let i = 0; i < steps; i++) {
    const at = Math.floor(random() * (s.length + 1));
    const ch = alphabet[Math.floor(random() * alphabet.length)];
    switch (Math.floor(random() * (withSplice ? 5 : 4))) {
      case 0: s = s.slice(0, at) + ch + s.slice(at + 1); break;
      case 1: s = s.slice(0, at) + ch + s.slice(at); break;
      case 2: s = s.slice(0, at) + s.slice(at + 1); break;
      case 3: s = s.slice(0, at); break;
      default: s = s + '-' + s.slice(at); break;
    }
  }
  return s;
}
