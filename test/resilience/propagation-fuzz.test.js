// 120,000 generated header sets through the whole propagation path (extract, then inject the
// way an outgoing request would): nothing throws, valid input is accepted per spec, and nothing
// that fails the strict grammars (CR/LF above all) ever reaches an outgoing header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { createPropagator } from '../../dist/src/telemetry/propagation/composite.js';
import { prng } from '../helpers/fuzz.js';

const PER_CASE = 20_000;

const HEX = '0123456789abcdef';
const NASTY = ['\r', '\n', '\r\n', '\0', '\t', ' ', ',', ';', '=', '"', '\u00e9', '\u202e', '\ud800', '\u{1f600}', '%', '%0d%0a', 'A', 'F', '-', '\x7f'];

function hex(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[Math.floor(r() * 16)];
  return s;
}

function mutate(r, s) {
  const op = Math.floor(r() * 6);
  const i = Math.floor(r() * (s.length + 1));
  const nasty = NASTY[Math.floor(r() * NASTY.length)];
  switch (op) {
    case 0:
      return s.slice(0, i) + nasty + s.slice(i);
    case 1:
      return s.slice(0, i) + s.slice(i + 1);
    case 2:
      return s + nasty.repeat(1 + Math.floor(r() * 3000));
    case 3:
      return s.toUpperCase();
    case 4:
      return `${hex(r, 2)}${s.slice(2)}`;
    default:
      return s;
  }
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$/;
const TRACESTATE_MEMBER = /^([a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
// W3C Baggage: baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
const BAGGAGE_MEMBER = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+=[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*(;[^\r\n,]*)?$/;
const B3 = /^[0-9a-f]{32}-[0-9a-f]{16}-[01d]$/;

function assertClean(out) {
  for (const [key, value] of Object.entries(out)) {
    assert.ok(typeof value === 'string', key);
    assert.ok(!/[\r\n\0]/.test(value), `${key} carries a control character: ${JSON.stringify(value)}`);
  }
  if (out.traceparent !== undefined) assert.match(out.traceparent, TRACEPARENT);
  if (out.tracestate !== undefined) {
    assert.ok(out.tracestate.split(',').length <= 32);
    for (const m of out.tracestate.split(',')) assert.match(m, TRACESTATE_MEMBER);
  }
  if (out.baggage !== undefined) {
    assert.ok(Buffer.byteLength(out.baggage) <= 8192);
    for (const m of out.baggage.split(',')) assert.match(m, BAGGAGE_MEMBER);
  }
  if (out.b3 !== undefined) assert.match(out.b3, B3);
}

/** Extract, start a child the way our tracer does (same trace, new span id), inject. */
function roundTrip(propagator, headers) {
  const ctx = propagator.extract(ROOT_CONTEXT, headers, {
    get: (c, k) => c[k],
    keys: (c) => Object.keys(c),
  });
  const parent = trace.getSpanContext(ctx);
  const child = parent ? trace.setSpanContext(ctx, { ...parent, spanId: '1122334455667788', isRemote: false }) : ctx;
  const out = {};
  propagator.inject(child, out, { set: (c, k, v) => (c[k] = v) });
  return { parent, out };
}

const w3c = createPropagator(['tracecontext', 'baggage']);
const b3 = createPropagator(['b3', 'tracecontext']);

test(`accepts ${PER_CASE} valid traceparent/tracestate/baggage sets and continues their trace`, () => {
  const r = prng(1);
  for (let i = 0; i < PER_CASE; i++) {
    let traceId = hex(r, 32);
    if (/^0+$/.test(traceId)) traceId = `1${traceId.slice(1)}`;
    const flags = ['00', '01', '02', '03'][i % 4];
    const headers = {
      traceparent: `00-${traceId}-${hex(r, 15)}1-${flags}`,
      tracestate: `vendor${i % 7}=v${hex(r, 6)},other@sys=x`,
      baggage: `user.id=${i},tier=gold%20plus;prop=1`,
    };
    const { parent, out } = roundTrip(w3c, headers);
    assert.ok(parent, `valid input ${i} was rejected: ${JSON.stringify(headers)}`);
    assert.equal(out.traceparent, `00-${traceId}-1122334455667788-${flags}`);
    assert.equal(out.tracestate, headers.tracestate);
    assertClean(out);
  }
});

test(`never throws and never emits an invalid header for ${PER_CASE * 3} mutated W3C header sets`, () => {
  const r = prng(2);
  for (let i = 0; i < PER_CASE * 3; i++) {
    const valid = { traceparent: `00-${hex(r, 32)}-${hex(r, 16)}-01`, tracestate: 'a=1,b@c=2', baggage: 'k=v,x=y%2Cz' };
    const headers = {};
    for (const key of Object.keys(valid)) {
      let v = valid[key];
      const rounds = Math.floor(r() * 3);
      for (let k = 0; k < rounds; k++) v = mutate(r, v);
      // Duplicated headers arrive from Node as arrays (tracestate, baggage) or joined strings.
      headers[key] = r() < 0.1 ? [v, mutate(r, v)] : v;
    }
    if (r() < 0.05) headers.traceparent = `ff${headers.traceparent.slice?.(2) ?? ''}`;
    if (r() < 0.05) headers.traceparent = `01-${hex(r, 32)}-${hex(r, 16)}-01-${'x'.repeat(Math.floor(r() * 50))}`;
    let result;
    assert.doesNotThrow(() => {
      result = roundTrip(w3c, headers);
    }, `input ${i}: ${JSON.stringify(headers).slice(0, 200)}`);
    assertClean(result.out);
  }
});

test(`never throws and never emits an invalid header for ${PER_CASE} mutated B3 headers`, () => {
  const r = prng(3);
  for (let i = 0; i < PER_CASE; i++) {
    const single = `${hex(r, r() < 0.5 ? 16 : 32)}-${hex(r, 16)}-${['0', '1', 'd'][i % 3]}`;
    const headers =
      i % 2 === 0
        ? { b3: mutate(r, single) }
        : { 'x-b3-traceid': mutate(r, hex(r, 32)), 'x-b3-spanid': mutate(r, hex(r, 16)), 'x-b3-sampled': mutate(r, '1') };
    let result;
    assert.doesNotThrow(() => {
      result = roundTrip(b3, headers);
    }, `input ${i}: ${JSON.stringify(headers).slice(0, 200)}`);
    assertClean(result.out);
  }
});
