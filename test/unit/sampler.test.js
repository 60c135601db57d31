import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSampler } from '../../dist/src/telemetry/sampler.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function parent(sampled, isRemote) {
  return { traceId: TRACE_ID, spanId: '00f067aa0ba902b7', traceFlags: sampled ? 0x03 : 0x02, isRemote };
}

function randomIds(n) {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push(randomBytes(16).toString('hex'));
  return ids;
}

const PARENTS = [
  ['a sampled remote parent', parent(true, true), true],
  ['an unsampled remote parent', parent(false, true), false],
  ['a sampled local parent', parent(true, false), true],
  ['an unsampled local parent', parent(false, false), false],
];

describe('simple samplers', () => {
  it('always_on samples roots and children of unsampled parents', () => {
    const s = createSampler('always_on', 1);
    assert.equal(s(undefined, TRACE_ID), true);
    for (const [, p] of PARENTS) assert.equal(s(p, TRACE_ID), true);
  });

  it('always_off samples nothing, not even under a sampled parent', () => {
    const s = createSampler('always_off', 1);
    assert.equal(s(undefined, TRACE_ID), false);
    for (const [, p] of PARENTS) assert.equal(s(p, TRACE_ID), false);
  });

  it('traceidratio ignores the parent and decides by the trace id alone', () => {
    const s = createSampler('traceidratio', 0.5);
    for (const id of randomIds(50)) {
      const root = s(undefined, id);
      for (const [, p] of PARENTS) assert.equal(s({ ...p, traceId: id }, id), root);
    }
  });
});

describe('parent-based samplers', () => {
  for (const name of ['parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']) {
    for (const [what, p, expected] of PARENTS) {
      it(`${name} follows ${what}`, () => {
        assert.equal(createSampler(name, 0)(p, TRACE_ID), expected);
        assert.equal(createSampler(name, 1)(p, TRACE_ID), expected);
      });
    }
  }

  it('parentbased_always_on samples a root span', () => {
    assert.equal(createSampler('parentbased_always_on', 1)(undefined, TRACE_ID), true);
  });

  it('parentbased_always_off does not sample a root span', () => {
    assert.equal(createSampler('parentbased_always_off', 1)(undefined, TRACE_ID), false);
  });

  it('parentbased_traceidratio samples a root span by its trace id', () => {
    const ratio = createSampler('traceidratio', 0.3);
    const pb = createSampler('parentbased_traceidratio', 0.3);
    for (const id of randomIds(200)) assert.equal(pb(undefined, id), ratio(undefined, id));
  });

  it('looks only at the sampled bit of the parent flags', () => {
    const s = createSampler('parentbased_always_off', 1);
    assert.equal(s({ ...parent(true, true), traceFlags: 0x01 }, TRACE_ID), true);
    assert.equal(s({ ...parent(true, true), traceFlags: 0xff }, TRACE_ID), true);
    assert.equal(s({ ...parent(false, true), traceFlags: 0xfe }, TRACE_ID), false);
  });
});

describe('traceidratio', () => {
  const ids = randomIds(20_000);

  it('gives the same answer for the same trace id every time', () => {
    const a = createSampler('traceidratio', 0.5);
    const b = createSampler('traceidratio', 0.5);
    for (const id of ids.slice(0, 1000)) assert.equal(a(undefined, id), b(undefined, id));
  });

  it('samples nothing at 0 and everything at 1', () => {
    const none = createSampler('traceidratio', 0);
    const all = createSampler('traceidratio', 1);
    for (const id of [...ids.slice(0, 1000), 'ffffffffffffffffffffffffffffffff', '00000000000000000000000000000001']) {
      assert.equal(none(undefined, id), false);
      assert.equal(all(undefined, id), true);
    }
  });

  it('samples about a quarter of random trace ids at 0.25', () => {
    const s = createSampler('traceidratio', 0.25);
    const share = ids.filter((id) => s(undefined, id)).length / ids.length;
    assert.ok(Math.abs(share - 0.25) <= 0.02, `sampled ${share}`);
  });

  it('decides by the random rightmost part of the trace id', () => {
    const s = createSampler('traceidratio', 0.5);
    // The left half is not random under W3C Level 2, so it must not matter.
    assert.equal(s(undefined, 'ffffffffffffffff0000000000000001'), true);
    assert.equal(s(undefined, '0000000000000000ffffffffffffffff'), false);
  });

  it('is monotonic: a trace sampled at one ratio is sampled at every higher ratio', () => {
    const ratios = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1];
    const samplers = ratios.map((r) => createSampler('traceidratio', r));
    for (const id of ids.slice(0, 5000)) {
      let seen = false;
      for (const s of samplers) {
        const d = s(undefined, id);
        assert.ok(!(seen && !d), `trace ${id} sampled at a lower ratio but not a higher one`);
        seen ||= d;
      }
    }
  });
});
