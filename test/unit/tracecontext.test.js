import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, trace, createTraceState } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '../../dist/src/telemetry/propagation/tracecontext.js';
import { parseTraceState } from '../../dist/src/telemetry/propagation/trace-state.js';
import { suppressTracing } from '../../dist/src/telemetry/suppress.js';
import { prng, mutate as mutateWith } from '../helpers/fuzz.js';

const propagator = new W3CTraceContextPropagator();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

function extract(headers) {
  return trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers));
}

function inject(spanContext, ctx = ROOT_CONTEXT) {
  const carrier = {};
  propagator.inject(trace.setSpanContext(ctx, spanContext), carrier);
  return carrier;
}

function rejects(traceparent) {
  assert.equal(extract({ traceparent }), undefined, `accepted ${JSON.stringify(traceparent)}`);
}

describe('traceparent extraction', () => {
  it('reads the spec example into a remote span context', () => {
    assert.deepEqual(extract({ traceparent: VALID }), {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: 1,
      isRemote: true,
    });
  });

  it('returns the very same context when no traceparent is present', () => {
    assert.equal(propagator.extract(ROOT_CONTEXT, {}), ROOT_CONTEXT);
    assert.equal(propagator.extract(ROOT_CONTEXT, { tracestate: 'a=b' }), ROOT_CONTEXT);
  });

  it('returns the very same context when the traceparent is invalid', () => {
    assert.equal(propagator.extract(ROOT_CONTEXT, { traceparent: 'garbage' }), ROOT_CONTEXT);
  });

  it('reads an unsampled parent', () => {
    assert.equal(extract({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-00` }).traceFlags, 0);
  });

  it('rejects version ff', () => rejects(`ff-${TRACE_ID}-${SPAN_ID}-01`));

  it('rejects version 00 with anything after the flags', () => {
    rejects(`${VALID}-`);
    rejects(`${VALID}-extra`);
    rejects(`${VALID}0`);
  });

  it('rejects a header shorter than 55 characters', () => {
    rejects(VALID.slice(0, 54));
    rejects(`00-${TRACE_ID}-${SPAN_ID}-1`);
    rejects('');
  });

  it('accepts a higher version of exactly 55 characters', () => {
    assert.equal(extract({ traceparent: `cc-${TRACE_ID}-${SPAN_ID}-01` }).traceId, TRACE_ID);
  });

  it('accepts a higher version with extra fields after a dash and reads only the first four', () => {
    const sc = extract({ traceparent: `cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like` });
    assert.equal(sc.spanId, SPAN_ID);
    assert.equal(sc.traceFlags, 1);
  });

  it('rejects a higher version whose 56th character is not a dash', () => {
    rejects(`cc-${TRACE_ID}-${SPAN_ID}-01.what-the-future-will-be-like`);
    rejects(`cc-${TRACE_ID}-${SPAN_ID}-010`);
  });

  it('rejects upper-case hex in every field', () => {
    rejects(`0A-${TRACE_ID}-${SPAN_ID}-01`);
    rejects(`00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`);
    rejects(`00-${TRACE_ID}-00F067AA0BA902B7-01`);
    rejects(`00-${TRACE_ID}-${SPAN_ID}-0A`);
  });

  it('rejects an all-zero trace id or parent id', () => {
    rejects(`00-${'0'.repeat(32)}-${SPAN_ID}-01`);
    rejects(`00-${TRACE_ID}-${'0'.repeat(16)}-01`);
  });

  it('rejects wrong separators, non-hex characters and short fields', () => {
    rejects(`00_${TRACE_ID}-${SPAN_ID}-01`);
    rejects(`00-${TRACE_ID}_${SPAN_ID}-01`);
    rejects(`00-${TRACE_ID.slice(0, 31)}g-${SPAN_ID}-01`);
    rejects(`00-${TRACE_ID}-${SPAN_ID}-0g`);
    rejects(`00-${TRACE_ID}1-${SPAN_ID.slice(1)}-01`);
    rejects(`0-0${TRACE_ID}-${SPAN_ID}-01`);
  });

  it('rejects CR, LF and non-ASCII characters', () => {
    rejects(`00-${TRACE_ID}-${SPAN_ID}-0\n`);
    rejects(`00-${TRACE_ID}-${SPAN_ID}\r\n01`);
    rejects(`cc-${TRACE_ID}-${SPAN_ID}-01\r\nx-evil: 1`);
    rejects(`00-${TRACE_ID.slice(0, 31)}é-${SPAN_ID}-01`);
    rejects(`00-${TRACE_ID}-${SPAN_ID}-0١`);
  });

  it('accepts spaces and tabs around the value, as HTTP allows', () => {
    assert.equal(extract({ traceparent: ` \t${VALID}\t ` }).traceId, TRACE_ID);
  });

  it('accepts a header repeated with the same value', () => {
    assert.equal(extract({ traceparent: [VALID, VALID] }).spanId, SPAN_ID);
    assert.equal(extract({ traceparent: [VALID] }).spanId, SPAN_ID);
  });

  it('rejects a header repeated with different values', () => {
    rejects([VALID, `00-${TRACE_ID}-${SPAN_ID}-00`]);
    rejects([]);
  });

  it('keeps the random-trace-id flag 0x02 alongside sampled', () => {
    assert.equal(extract({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-03` }).traceFlags, 0x03);
    assert.equal(extract({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-02` }).traceFlags, 0x02);
  });

  it('zeroes flag bits that have no meaning yet', () => {
    assert.equal(extract({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-ff` }).traceFlags, 0x03);
    assert.equal(extract({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-fc` }).traceFlags, 0);
    assert.equal(extract({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-09` }).traceFlags, 0x01);
  });

  it('never throws, even when the getter does', () => {
    const getter = { get() { throw new Error('boom'); }, keys: () => [] };
    assert.equal(propagator.extract(ROOT_CONTEXT, {}, getter), ROOT_CONTEXT);
    assert.equal(propagator.extract(ROOT_CONTEXT, null), ROOT_CONTEXT);
    assert.equal(propagator.extract(ROOT_CONTEXT, { traceparent: 42 }), ROOT_CONTEXT);
    assert.equal(propagator.extract(ROOT_CONTEXT, { traceparent: [42, 42] }), ROOT_CONTEXT);
  });
});

describe('tracestate extraction', () => {
  it('attaches a valid tracestate to the span context', () => {
    const sc = extract({ traceparent: VALID, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' });
    assert.equal(sc.traceState.get('congo'), 't61rcWkgMzE');
  });

  it('keeps the traceparent but drops the tracestate when the tracestate is invalid', () => {
    const sc = extract({ traceparent: VALID, tracestate: 'rojo=00f067aa0ba902b7,BAD=1' });
    assert.equal(sc.traceId, TRACE_ID);
    assert.equal(sc.traceState, undefined);
  });

  it('reads no tracestate when the traceparent is invalid', () => {
    const headers = { traceparent: 'nope', tracestate: 'a=b' };
    assert.equal(propagator.extract(ROOT_CONTEXT, headers), ROOT_CONTEXT);
  });

  it('re-emits a valid tracestate unchanged', () => {
    const tracestate = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,t1@sys=v a l';
    const carrier = {};
    propagator.inject(propagator.extract(ROOT_CONTEXT, { traceparent: VALID, tracestate }), carrier);
    assert.equal(carrier.tracestate, tracestate);
  });
});

describe('traceparent injection', () => {
  const spanContext = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: false };

  it('writes a version 00 traceparent', () => {
    assert.deepEqual(inject(spanContext), { traceparent: VALID });
  });

  it('round-trips what it extracted', () => {
    for (const flags of ['00', '01', '02', '03']) {
      const traceparent = `00-${TRACE_ID}-${SPAN_ID}-${flags}`;
      const carrier = {};
      propagator.inject(propagator.extract(ROOT_CONTEXT, { traceparent }), carrier);
      assert.equal(carrier.traceparent, traceparent);
    }
  });

  it('downgrades a higher version to 00 when passing it on', () => {
    const carrier = {};
    const incoming = `cc-${TRACE_ID}-${SPAN_ID}-01-future`;
    propagator.inject(propagator.extract(ROOT_CONTEXT, { traceparent: incoming }), carrier);
    assert.equal(carrier.traceparent, VALID);
  });

  it('never copies the unparsed tail of a higher version into the outgoing header', () => {
    const carrier = {};
    const incoming = `cc-${TRACE_ID}-${SPAN_ID}-01-\r\nx-evil: 1`;
    propagator.inject(propagator.extract(ROOT_CONTEXT, { traceparent: incoming }), carrier);
    assert.deepEqual(carrier, { traceparent: VALID });
  });

  it('masks the flags to the two defined bits', () => {
    assert.equal(inject({ ...spanContext, traceFlags: 0xff }).traceparent, `00-${TRACE_ID}-${SPAN_ID}-03`);
  });

  it('lower-cases ids the API accepted in upper case', () => {
    const carrier = inject({ ...spanContext, traceId: TRACE_ID.toUpperCase(), spanId: SPAN_ID.toUpperCase() });
    assert.equal(carrier.traceparent, VALID);
  });

  it('writes nothing for an invalid span context', () => {
    assert.deepEqual(inject({ ...spanContext, traceId: '0'.repeat(32) }), {});
    assert.deepEqual(inject({ ...spanContext, spanId: 'xyz' }), {});
    const carrier = {};
    propagator.inject(ROOT_CONTEXT, carrier);
    assert.deepEqual(carrier, {});
  });

  it('writes nothing when tracing is suppressed', () => {
    assert.deepEqual(inject(spanContext, suppressTracing(ROOT_CONTEXT)), {});
  });

  it('omits an empty tracestate', () => {
    const empty = parseTraceState('a=b').unset('a');
    assert.deepEqual(inject({ ...spanContext, traceState: empty }), { traceparent: VALID });
  });

  it('writes a tracestate made by the OpenTelemetry API', () => {
    const carrier = inject({ ...spanContext, traceState: createTraceState('a=1,b=2') });
    assert.equal(carrier.tracestate, 'a=1,b=2');
  });

  it('drops a foreign tracestate whose serialisation breaks the grammar', () => {
    const evil = { serialize: () => 'a=1\r\nx-injected: yes', get() {}, set() {}, unset() {} };
    assert.deepEqual(inject({ ...spanContext, traceState: evil }), { traceparent: VALID });
  });

  it('never throws, even when the setter does', () => {
    const setter = { set() { throw new Error('headers already sent'); } };
    propagator.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), {}, setter);
  });

  it('lists its two fields', () => {
    assert.deepEqual(propagator.fields(), ['traceparent', 'tracestate']);
  });
});

const ALPHABET = ['0', '1', 'a', 'f', 'A', 'F', 'g', '-', ' ', '\t', '\r', '\n', '\0', 'é', '\u2028', ',', '=', 'ff', '00'];

const mutate = (input, random) => mutateWith(input, random, ALPHABET, true);

// The strict grammar of what may leave the process.
const STRICT_TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-0[0-3]$/;
const STRICT_V00 = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
const STRICT_TRACESTATE =
  /^(?:[a-z][a-z0-9_*/-]{0,255}|[a-z0-9][a-z0-9_*/-]{0,240}@[a-z][a-z0-9_*/-]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

describe('traceparent fuzzing', () => {
  it('never throws and only ever re-emits headers that match the strict grammar', () => {
    const random = prng(0x7ace);
    const seeds = [VALID, `cc-${TRACE_ID}-${SPAN_ID}-03-x`, `00-${TRACE_ID}-${SPAN_ID}-02`];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const traceparent = mutate(seeds[i % seeds.length], random);
      const tracestate = mutate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE', random);
      const ctx = propagator.extract(ROOT_CONTEXT, { traceparent, tracestate });
      // An independent oracle for version 00: accepted exactly when the strict regex matches.
      const trimmed = traceparent.replace(/^[ \t]+|[ \t]+$/g, '');
      if (trimmed.startsWith('00')) {
        assert.equal(ctx !== ROOT_CONTEXT, STRICT_V00.test(trimmed), JSON.stringify(traceparent));
      }
      const carrier = {};
      propagator.inject(ctx, carrier);
      if (ctx === ROOT_CONTEXT) {
        assert.deepEqual(carrier, {});
        continue;
      }
      accepted++;
      assert.match(carrier.traceparent, STRICT_TRACEPARENT);
      if (carrier.tracestate !== undefined) {
        for (const member of carrier.tracestate.split(',')) assert.match(member, STRICT_TRACESTATE);
      }
    }
    // The mutations must leave enough valid headers for the second half of the property to mean something.
    assert.ok(accepted > 1000, `only ${accepted} accepted`);
  });
});
