import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, trace, propagation } from '@opentelemetry/api';
import { B3Propagator } from '../../dist/src/telemetry/propagation/b3.js';
import { createPropagator } from '../../dist/src/telemetry/propagation/composite.js';
import { suppressTracing } from '../../dist/src/telemetry/suppress.js';
import { prng, mutate as mutateWith } from '../helpers/fuzz.js';

const single = new B3Propagator({ mode: 'single' });
const multi = new B3Propagator({ mode: 'multi' });
const TRACE_ID = '80f198ee56343ba864fe8b2a57d3eff7';
const SPAN_ID = 'e457b5a2e4d86bd1';
const PARENT_ID = '05e3ac9a4f6e3b90';
const SHORT_TRACE_ID = '64fe8b2a57d3eff7';

function extract(headers, propagator = single) {
  return trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers));
}

function inject(propagator, spanContext, ctx = ROOT_CONTEXT) {
  const carrier = {};
  propagator.inject(trace.setSpanContext(ctx, spanContext), carrier);
  return carrier;
}

describe('b3 single-header extraction', () => {
  it('reads trace id, span id, sampling state and parent id', () => {
    assert.deepEqual(extract({ b3: `${TRACE_ID}-${SPAN_ID}-1-${PARENT_ID}` }), {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: 1,
      isRemote: true,
    });
  });

  it('reads a header without parent id or without sampling state', () => {
    assert.equal(extract({ b3: `${TRACE_ID}-${SPAN_ID}-0` }).traceFlags, 0);
    assert.equal(extract({ b3: `${TRACE_ID}-${SPAN_ID}` }).traceFlags, 0);
  });

  it('treats the debug state d as sampled', () => {
    assert.equal(extract({ b3: `${TRACE_ID}-${SPAN_ID}-d` }).traceFlags, 1);
  });

  it('left-pads a 64-bit trace id with zeros', () => {
    assert.equal(extract({ b3: `${SHORT_TRACE_ID}-${SPAN_ID}-1` }).traceId, `0000000000000000${SHORT_TRACE_ID}`);
  });

  it('returns the same context for a sampling-only header', () => {
    for (const b3 of ['0', '1', 'd']) assert.equal(single.extract(ROOT_CONTEXT, { b3 }), ROOT_CONTEXT);
  });

  it('rejects upper-case, all-zero and wrongly sized ids', () => {
    const bad = [
      `${TRACE_ID.toUpperCase()}-${SPAN_ID}-1`,
      `${TRACE_ID}-${SPAN_ID.toUpperCase()}-1`,
      `${'0'.repeat(32)}-${SPAN_ID}-1`,
      `${'0'.repeat(16)}-${SPAN_ID}-1`,
      `${TRACE_ID}-${'0'.repeat(16)}-1`,
      `${TRACE_ID.slice(1)}-${SPAN_ID}-1`,
      `${TRACE_ID}0-${SPAN_ID}-1`,
      `${TRACE_ID.slice(0, 24)}-${SPAN_ID}-1`,
      `${TRACE_ID}-${SPAN_ID}1-1`,
    ];
    for (const b3 of bad) assert.equal(extract({ b3 }), undefined, b3);
  });

  it('rejects an unknown sampling state, a bad parent id and extra fields', () => {
    const bad = [
      `${TRACE_ID}-${SPAN_ID}-2`,
      `${TRACE_ID}-${SPAN_ID}-true`,
      `${TRACE_ID}-${SPAN_ID}-1-${PARENT_ID.toUpperCase()}`,
      `${TRACE_ID}-${SPAN_ID}-1-`,
      `${TRACE_ID}-${SPAN_ID}-1-${PARENT_ID}-x`,
      `${TRACE_ID}`,
      '',
      'x',
    ];
    for (const b3 of bad) assert.equal(extract({ b3 }), undefined, b3);
  });

  it('rejects CR, LF and non-ASCII characters', () => {
    for (const b3 of [`${TRACE_ID}-${SPAN_ID}-1\r\n`, `${TRACE_ID}-${SPAN_ID}\n-1`, `${TRACE_ID}-${SPAN_ID}-١`]) {
      assert.equal(extract({ b3 }), undefined, JSON.stringify(b3));
    }
  });

  it('accepts a repeated header only when the copies agree', () => {
    const b3 = `${TRACE_ID}-${SPAN_ID}-1`;
    assert.equal(extract({ b3: [b3, b3] }).spanId, SPAN_ID);
    assert.equal(extract({ b3: [b3, `${TRACE_ID}-${PARENT_ID}-1`] }), undefined);
  });
});

describe('b3 multi-header extraction', () => {
  const headers = { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': SPAN_ID, 'x-b3-sampled': '1' };

  it('reads the lower-case headers Node delivers', () => {
    assert.deepEqual(extract({ ...headers, 'x-b3-parentspanid': PARENT_ID }, multi), {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: 1,
      isRemote: true,
    });
  });

  it('reads multi headers whatever the configured mode', () => {
    assert.equal(extract(headers, single).traceId, TRACE_ID);
  });

  it('left-pads a 64-bit trace id with zeros', () => {
    assert.equal(extract({ ...headers, 'x-b3-traceid': SHORT_TRACE_ID }).traceId, `0000000000000000${SHORT_TRACE_ID}`);
  });

  it('reads the sampled header as 1/0 and the legacy true/false, absent meaning not sampled', () => {
    assert.equal(extract({ ...headers, 'x-b3-sampled': '0' }).traceFlags, 0);
    assert.equal(extract({ ...headers, 'x-b3-sampled': 'true' }).traceFlags, 1);
    assert.equal(extract({ ...headers, 'x-b3-sampled': 'false' }).traceFlags, 0);
    assert.equal(extract({ 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': SPAN_ID }).traceFlags, 0);
  });

  it('treats X-B3-Flags: 1 as sampled', () => {
    assert.equal(extract({ 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': SPAN_ID, 'x-b3-flags': '1' }).traceFlags, 1);
  });

  it('rejects a bad sampled value, a bad parent id, a missing span id or all-zero ids', () => {
    const bad = [
      { ...headers, 'x-b3-sampled': 'yes' },
      { ...headers, 'x-b3-parentspanid': 'nope' },
      { 'x-b3-traceid': TRACE_ID },
      { ...headers, 'x-b3-traceid': '0'.repeat(16) },
      { ...headers, 'x-b3-spanid': SPAN_ID.toUpperCase() },
      { ...headers, 'x-b3-traceid': [TRACE_ID, SHORT_TRACE_ID] },
    ];
    for (const h of bad) assert.equal(multi.extract(ROOT_CONTEXT, h), ROOT_CONTEXT, JSON.stringify(h));
  });

  it('prefers a valid single header over multi headers', () => {
    const sc = extract({ ...headers, b3: `${SHORT_TRACE_ID}-${PARENT_ID}-0` });
    assert.equal(sc.spanId, PARENT_ID);
  });

  it('falls back to multi headers when the single header is invalid', () => {
    assert.equal(extract({ ...headers, b3: 'garbage' }).spanId, SPAN_ID);
  });

  it('returns the same context without any b3 header, and never throws', () => {
    assert.equal(single.extract(ROOT_CONTEXT, {}), ROOT_CONTEXT);
    assert.equal(single.extract(ROOT_CONTEXT, null), ROOT_CONTEXT);
    const getter = { get() { throw new Error('boom'); }, keys: () => [] };
    assert.equal(single.extract(ROOT_CONTEXT, {}, getter), ROOT_CONTEXT);
  });
});

describe('b3 injection', () => {
  const spanContext = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: false };

  it('writes one b3 header in single mode', () => {
    assert.deepEqual(inject(single, spanContext), { b3: `${TRACE_ID}-${SPAN_ID}-1` });
    assert.deepEqual(inject(single, { ...spanContext, traceFlags: 2 }), { b3: `${TRACE_ID}-${SPAN_ID}-0` });
  });

  it('writes three headers in multi mode', () => {
    assert.deepEqual(inject(multi, spanContext), { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': SPAN_ID, 'x-b3-sampled': '1' });
  });

  it('defaults to single mode', () => {
    assert.deepEqual(new B3Propagator().fields(), ['b3']);
  });

  it('round-trips a padded 64-bit id as 128 bits', () => {
    const carrier = {};
    single.inject(single.extract(ROOT_CONTEXT, { b3: `${SHORT_TRACE_ID}-${SPAN_ID}-d` }), carrier);
    assert.equal(carrier.b3, `0000000000000000${SHORT_TRACE_ID}-${SPAN_ID}-1`);
  });

  it('writes nothing for an invalid span context or when tracing is suppressed', () => {
    assert.deepEqual(inject(single, { ...spanContext, spanId: '0'.repeat(16) }), {});
    assert.deepEqual(inject(multi, spanContext, suppressTracing(ROOT_CONTEXT)), {});
  });

  it('lists the fields of its mode', () => {
    assert.deepEqual(single.fields(), ['b3']);
    assert.deepEqual(multi.fields(), ['x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled']);
  });
});

describe('createPropagator', () => {
  const W3C = '4bf92f3577b34da6a3ce929d0e0e4736';
  const headers = {
    traceparent: `00-${W3C}-00f067aa0ba902b7-01`,
    b3: `${TRACE_ID}-${SPAN_ID}-1`,
    baggage: 'k=v',
  };

  it('lets the later format win when two carry a span context', () => {
    assert.equal(trace.getSpanContext(createPropagator(['tracecontext', 'b3']).extract(ROOT_CONTEXT, headers)).traceId, TRACE_ID);
    assert.equal(trace.getSpanContext(createPropagator(['b3', 'tracecontext']).extract(ROOT_CONTEXT, headers)).traceId, W3C);
  });

  it('extracts baggage alongside the span context', () => {
    const ctx = createPropagator(['tracecontext', 'baggage']).extract(ROOT_CONTEXT, headers);
    assert.equal(propagation.getBaggage(ctx).getEntry('k').value, 'v');
    assert.equal(trace.getSpanContext(ctx).traceId, W3C);
  });

  it('injects every format and reports the union of fields', () => {
    const propagator = createPropagator(['tracecontext', 'baggage', 'b3multi', 'b3', 'tracecontext']);
    assert.deepEqual(propagator.fields(), [
      'traceparent', 'tracestate', 'baggage', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'b3',
    ]);
    const carrier = {};
    propagator.inject(propagator.extract(ROOT_CONTEXT, { traceparent: headers.traceparent }), carrier);
    assert.deepEqual(Object.keys(carrier).sort(), ['b3', 'traceparent', 'x-b3-sampled', 'x-b3-spanid', 'x-b3-traceid']);
  });

  it('does nothing with an empty list', () => {
    const propagator = createPropagator([]);
    assert.equal(propagator.extract(ROOT_CONTEXT, headers), ROOT_CONTEXT);
    const carrier = {};
    propagator.inject(trace.setSpanContext(ROOT_CONTEXT, { traceId: W3C, spanId: SPAN_ID, traceFlags: 1 }), carrier);
    assert.deepEqual(carrier, {});
    assert.deepEqual(propagator.fields(), []);
  });
});

const ALPHABET = ['0', '1', 'd', 'a', 'F', 'g', '-', ' ', '\r', '\n', '\0', 'é', '0000000000000000'];

const mutate = (input, random) =>
  // Hex ids rarely survive a mutation; leave some untouched so accepted cases stay common.
  random() < 0.3 ? input : mutateWith(input, random, ALPHABET);

const STRICT_SINGLE = /^(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[01]$/;

describe('b3 fuzzing', () => {
  it('never throws and only ever re-emits headers that match the strict grammar', () => {
    const random = prng(0xb3b3);
    const seeds = [`${TRACE_ID}-${SPAN_ID}-1-${PARENT_ID}`, `${SHORT_TRACE_ID}-${SPAN_ID}-d`, `${TRACE_ID}-${SPAN_ID}`];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const useMulti = i % 2 === 1;
      const headers = useMulti
        ? {
            'x-b3-traceid': mutate(TRACE_ID, random),
            'x-b3-spanid': mutate(SPAN_ID, random),
            'x-b3-sampled': mutate('1', random),
          }
        : { b3: mutate(seeds[i % seeds.length], random) };
      const ctx = single.extract(ROOT_CONTEXT, headers);
      const carrier = {};
      single.inject(ctx, carrier);
      if (ctx === ROOT_CONTEXT) {
        assert.deepEqual(carrier, {});
        continue;
      }
      accepted++;
      assert.match(carrier.b3, STRICT_SINGLE, JSON.stringify(headers));
    }
    assert.ok(accepted > 1000, `only ${accepted} accepted`);
  });
});
