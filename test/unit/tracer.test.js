import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, createContextKey, createTraceState, defaultTextMapSetter, isSpanContextValid, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '../../dist/src/telemetry/propagation/tracecontext.js';
import { B3Propagator } from '../../dist/src/telemetry/propagation/b3.js';
import { PeriscopeTracerProvider } from '../../dist/src/telemetry/tracer.js';
import { createSampler } from '../../dist/src/telemetry/sampler.js';
import { newSpanId, newTraceId } from '../../dist/src/telemetry/ids.js';
import { now, toEpochMs } from '../../dist/src/telemetry/clock.js';
import { AlsContextManager, runWith, withSpan } from '../../dist/src/telemetry/context.js';
import { suppressTracing } from '../../dist/src/telemetry/suppress.js';

const LIMITS = {
  attributeCountLimit: 128,
  attributeValueLengthLimit: Infinity,
  eventCountLimit: 128,
  linkCountLimit: 128,
  attributePerEventCountLimit: 128,
  attributePerLinkCountLimit: 128,
};
const REMOTE = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', isRemote: true };

/** A tracer whose ended spans land in `ended`. Pass `sink: undefined` for a pipeline without exporters. */
function setup({ sampler = 'always_on', ratio = 1, limits = {}, ...rest } = {}) {
  const ended = [];
  const sink = 'sink' in rest ? rest.sink : { onEnd: (span) => ended.push(span) };
  const provider = new PeriscopeTracerProvider({
    sampler: createSampler(sampler, ratio),
    resource: { attributes: { 'service.name': 'unit' } },
    limits: { ...LIMITS, ...limits },
    sink,
  });
  return { tracer: provider.getTracer('unit-test', '1.2.3'), provider, ended };
}

const remoteParent = (traceFlags, extra = {}) => trace.setSpanContext(ROOT_CONTEXT, { ...REMOTE, traceFlags, ...extra });

before(() => context.setGlobalContextManager(new AlsContextManager()));
after(() => context.disable());

describe('ids', () => {
  it('draws lowercase hex trace and span ids of 32 and 16 characters, never all zero, never repeated', () => {
    const seen = new Set();
    // Enough draws to refill the random pool (32,768 words, 12 per trace and span id) several times.
    for (let i = 0; i < 10_000; i++) {
      const t = newTraceId();
      const s = newSpanId();
      assert.match(t, /^[0-9a-f]{32}$/);
      assert.match(s, /^[0-9a-f]{16}$/);
      assert.notEqual(t, '0'.repeat(32));
      assert.notEqual(s, '0'.repeat(16));
      assert.ok(!seen.has(t) && !seen.has(s));
      seen.add(t).add(s);
    }
  });

  it('draws each id from random words no other id used: an id never starts with a word of the one before', () => {
    // Overlapping ids would be distinct strings sharing bits. By chance, an id's first 16-bit word
    // is among the 4 or 8 of the id before in ~1 pair of 10,000 (expected here: ~1.5).
    const words = (hex) => new Set(hex.match(/.{4}/g));
    let prev = newSpanId();
    let shared = 0;
    for (let i = 0; i < 6_000; i++) {
      const t = newTraceId();
      const s = newSpanId();
      if (words(prev).has(t.slice(0, 4))) shared++;
      if (words(t).has(s.slice(0, 4))) shared++;
      prev = s;
    }
    assert.ok(shared < 20, `${shared} of 12,000 ids start with a word of the id before`);
  });

  it('uses every hex digit in every position', () => {
    const digits = Array.from({ length: 32 }, () => new Set());
    for (let i = 0; i < 2_000; i++) [...newTraceId()].forEach((c, at) => digits[at].add(c));
    for (const set of digits) assert.equal(set.size, 16);
  });

  it('gives a span context that spreads, clones and serializes with its ids', () => {
    const span = setup().tracer.startSpan('s');
    const sc = span.spanContext();
    assert.deepEqual({ ...sc }, { traceId: sc.traceId, spanId: sc.spanId, traceFlags: sc.traceFlags, isRemote: false });
    assert.deepEqual(structuredClone(sc), { ...sc });
    assert.deepEqual(JSON.parse(JSON.stringify(sc)), { ...sc });
    span.end();
  });
});

describe('span creation', () => {
  it('starts a root span with fresh ids and flags 0x03 (sampled, random trace id)', () => {
    const { tracer } = setup();
    const span = tracer.startSpan('root', {}, ROOT_CONTEXT);
    const sc = span.spanContext();
    assert.equal(sc.traceFlags, 0x03);
    assert.ok(isSpanContextValid(sc));
    assert.equal(span.parentSpanId, undefined);
    assert.equal(span.isRecording(), true);
    assert.deepEqual(span.scope, { name: 'unit-test', version: '1.2.3' });
    assert.equal(span.resource.attributes['service.name'], 'unit');
  });

  it('gives a child the parent trace id, a new span id and the parent id', () => {
    const { tracer } = setup();
    const root = tracer.startSpan('root', {}, ROOT_CONTEXT);
    const child = tracer.startSpan('child', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root));
    assert.equal(child.traceId, root.traceId);
    assert.notEqual(child.spanId, root.spanId);
    assert.equal(child.parentSpanId, root.spanId);
    assert.equal(child.parentIsRemote, false);
    assert.equal(child.kind, SpanKind.CLIENT);
    assert.equal(child.traceFlags, 0x03);
  });

  it('keeps a remote parent without the random flag as it is (0x01 parent gives a 0x01 child)', () => {
    const { tracer } = setup();
    const child = tracer.startSpan('child', {}, remoteParent(0x01, { traceState: createTraceState('vendor=x') }));
    assert.equal(child.traceFlags, 0x01);
    assert.equal(child.traceId, REMOTE.traceId);
    assert.equal(child.parentSpanId, REMOTE.spanId);
    assert.equal(child.parentIsRemote, true);
    assert.equal(child.traceState, 'vendor=x');
    assert.equal(child.spanContext().traceState.serialize(), 'vendor=x');
  });

  it('makes an unsampled span non-recording with a fresh valid span id and the parent flags', () => {
    const { tracer, ended } = setup({ sampler: 'parentbased_always_on' });
    for (const flags of [0x00, 0x02]) {
      const span = tracer.startSpan('x', {}, remoteParent(flags));
      const sc = span.spanContext();
      assert.equal(span.isRecording(), false);
      assert.ok(isSpanContextValid(sc));
      assert.notEqual(sc.spanId, REMOTE.spanId);
      assert.equal(sc.traceId, REMOTE.traceId);
      assert.equal(sc.traceFlags, flags);
      span.end();
    }
    assert.equal(ended.length, 0);
  });

  it('records nothing when the pipeline has no sink', () => {
    const { tracer } = setup({ sink: undefined });
    const span = tracer.startSpan('x', {}, ROOT_CONTEXT);
    assert.equal(span.isRecording(), false);
    assert.ok(isSpanContextValid(span.spanContext()));
    span.end();
  });

  it('gives a non-recording root span one valid context, the same object every time it is asked', () => {
    const { tracer } = setup({ sink: undefined });
    const root = tracer.startSpan('root', {}, ROOT_CONTEXT);
    const sc = root.spanContext();
    assert.ok(isSpanContextValid(sc));
    assert.match(sc.traceId, /^[0-9a-f]{32}$/);
    assert.equal(sc.traceFlags, 0x03); // parent-based always_on root: sampled, random trace id
    assert.equal(sc.isRemote, false);
    assert.equal(root.spanContext(), sc);
  });

  it('gives a recording span one context, the same object every time, with the ids it records', () => {
    const { tracer } = setup();
    const root = tracer.startSpan('root', {}, ROOT_CONTEXT);
    const sc = root.spanContext();
    assert.equal(root.spanContext(), sc);
    assert.match(sc.traceId, /^[0-9a-f]{32}$/);
    assert.match(sc.spanId, /^[0-9a-f]{16}$/);
    assert.equal(sc.traceId, root.traceId);
    assert.equal(sc.spanId, root.spanId);
    assert.deepEqual({ ...sc }, { traceId: root.traceId, spanId: root.spanId, traceFlags: 0x03, isRemote: false });
    root.end();
  });

  it('gives the children of a non-recording span its trace id and their own span ids', () => {
    const { tracer } = setup({ sink: undefined });
    const root = tracer.startSpan('root', {}, ROOT_CONTEXT);
    const a = tracer.startSpan('a', {}, trace.setSpan(ROOT_CONTEXT, root));
    const b = tracer.startSpan('b', {}, trace.setSpan(ROOT_CONTEXT, root));
    // The children are asked first: the root's context must already be the one they descend from.
    const [sa, sb] = [a.spanContext(), b.spanContext()];
    assert.equal(sa.traceId, root.spanContext().traceId);
    assert.equal(sb.traceId, root.spanContext().traceId);
    assert.equal(new Set([sa.spanId, sb.spanId, root.spanContext().spanId]).size, 3);
  });

  it('keeps on an unsampled root the trace id the ratio sampler decided by', () => {
    const { tracer, ended } = setup({ sampler: 'traceidratio', ratio: 0.5 });
    const unsampled = [];
    for (let i = 0; i < 400; i++) {
      const span = tracer.startSpan('x', {}, ROOT_CONTEXT);
      if (!span.isRecording()) unsampled.push(span);
      span.end();
    }
    // The decision is the rightmost 52 bits of the trace id against half their range.
    const low = (traceId) => parseInt(traceId.slice(19, 32), 16) < 2 ** 51;
    assert.ok(unsampled.length > 100 && ended.length > 100, `${unsampled.length} unsampled, ${ended.length} sampled`);
    for (const span of unsampled) assert.equal(low(span.spanContext().traceId), false);
    for (const span of ended) assert.equal(low(span.traceId), true);
  });

  it('ignores the active parent when options.root is set', () => {
    const { tracer } = setup();
    const span = tracer.startSpan('new trace', { root: true }, remoteParent(0x01));
    assert.notEqual(span.traceId, REMOTE.traceId);
    assert.equal(span.parentSpanId, undefined);
    assert.equal(span.traceFlags, 0x03);
  });

  it('gives a non-recording invalid span in a suppressed context', () => {
    const { tracer, ended } = setup();
    for (const ctx of [suppressTracing(ROOT_CONTEXT), suppressTracing(remoteParent(0x01))]) {
      const span = tracer.startSpan('export', {}, ctx);
      assert.equal(span.isRecording(), false);
      assert.equal(isSpanContextValid(span.spanContext()), false);
      span.end();
    }
    assert.equal(ended.length, 0);
  });

  it('returns one tracer per name and version', () => {
    const { provider } = setup();
    assert.equal(provider.getTracer('a', '1'), provider.getTracer('a', '1'));
    assert.notEqual(provider.getTracer('a', '1'), provider.getTracer('a', '2'));
    assert.deepEqual(provider.getTracer('b').scope, { name: 'b', version: undefined });
  });
});

describe('ending', () => {
  it('hands the span to the sink once and ignores later ends and mutations', () => {
    const { tracer, ended } = setup();
    const span = tracer.startSpan('once', {}, ROOT_CONTEXT);
    span.setAttribute('before', 1);
    span.end();
    const endTime = span.endTime;
    span.end();
    span.setAttribute('after', 1).setAttributes({ after2: 2 }).addEvent('late').setStatus({ code: SpanStatusCode.ERROR });
    span.updateName('renamed');
    span.addLink({ context: { ...REMOTE, traceFlags: 1 } });
    span.recordException(new Error('late'));
    assert.equal(ended.length, 1);
    assert.equal(ended[0], span);
    assert.equal(span.isRecording(), false);
    assert.equal(span.endTime, endTime);
    assert.deepEqual(span.attributes, { before: 1 });
    assert.equal(span.name, 'once');
    assert.equal(span.events.length, 0);
    assert.equal(span.links.length, 0);
    assert.equal(span.status.code, SpanStatusCode.UNSET);
  });

  it('clamps an end time before the start time to the start time', () => {
    const { tracer } = setup();
    const start = Date.now();
    const span = tracer.startSpan('x', { startTime: new Date(start) }, ROOT_CONTEXT);
    span.end(new Date(start - 1000));
    assert.equal(span.endTime, start);
  });

  it('accepts Date, HrTime and epoch milliseconds as times', () => {
    const { tracer } = setup();
    const t = 1_700_000_000_123;
    for (const [input, expected] of [[new Date(t), t], [[1_700_000_000, 123_456_000], 1_700_000_000_123.456], [t, t]]) {
      const span = tracer.startSpan('x', { startTime: input }, ROOT_CONTEXT);
      span.addEvent('e', input);
      span.end(input);
      assert.equal(span.startTime, expected);
      assert.equal(span.endTime, expected);
      assert.equal(span.events[0].time, expected);
    }
  });

  it('reads small numbers as performance.now() offsets and stamps spans with the current time', () => {
    assert.equal(toEpochMs(1500), performance.timeOrigin + 1500);
    assert.ok(Math.abs(now() - Date.now()) < 50);
    const { tracer } = setup();
    const span = tracer.startSpan('x', {}, ROOT_CONTEXT);
    span.end();
    assert.ok(Math.abs(span.startTime - Date.now()) < 50);
    assert.ok(span.endTime >= span.startTime);
  });
});

describe('attributes, events and links', () => {
  it('drops invalid values and mixed arrays, keeps primitives and homogeneous arrays with nulls', () => {
    const { tracer } = setup();
    const span = tracer.startSpan('x', {}, ROOT_CONTEXT);
    span.setAttributes({ obj: { a: 1 }, nul: null, undef: undefined, fn: () => 1, sym: Symbol('s'), mixed: [1, 'a'], objs: [{}] });
    span.setAttribute('', 'no key');
    span.setAttributes({ s: 'v', n: 1.5, b: false, arr: ['a', null, 'b'], nums: [1, 2], empty: [] });
    assert.deepEqual(span.attributes, { s: 'v', n: 1.5, b: false, arr: ['a', null, 'b'], nums: [1, 2], empty: [] });
    assert.equal(span.droppedAttributesCount, 0);
  });

  it('copies arrays so later changes by the caller do not leak into the span', () => {
    const { tracer } = setup();
    const span = tracer.startSpan('x', {}, ROOT_CONTEXT);
    const arr = ['a'];
    span.setAttribute('arr', arr);
    arr.push('b');
    assert.deepEqual(span.attributes.arr, ['a']);
  });

  it('truncates strings, also inside arrays, to the value length limit', () => {
    const { tracer } = setup({ limits: { attributeValueLengthLimit: 3 } });
    const span = tracer.startSpan('x', { attributes: { o: 'abcdef' } }, ROOT_CONTEXT);
    span.setAttribute('s', 'abcdef').setAttributes({ arr: ['abcd', 'ab'], n: 123456 });
    span.addEvent('e', { s: 'xyz123' });
    assert.deepEqual(span.attributes, { o: 'abc', s: 'abc', arr: ['abc', 'ab'], n: 123456 });
    assert.equal(span.events[0].attributes.s, 'xyz');
  });

  it('drops new keys beyond the count limit, counts them, and still updates existing keys', () => {
    const { tracer } = setup({ limits: { attributeCountLimit: 2 } });
    const span = tracer.startSpan('x', { attributes: { a: 1, b: 2, c: 3 } }, ROOT_CONTEXT);
    span.setAttribute('d', 4).setAttributes({ e: 5, f: 6, a: 10 });
    span.setAttribute('b', 20);
    assert.deepEqual(span.attributes, { a: 10, b: 20 });
    assert.equal(span.droppedAttributesCount, 4);
  });

  it('counts a key named like an Object.prototype member as a new key', () => {
    const { tracer } = setup({ limits: { attributeCountLimit: 1 } });
    const span = tracer.startSpan('x', { attributes: { a: 1 } }, ROOT_CONTEXT);
    span.setAttribute('constructor', 'x').setAttributes({ toString: 'y' });
    assert.deepEqual(Object.keys(span.attributes), ['a']);
    assert.equal(span.droppedAttributesCount, 2);
  });

  it('drops events beyond the event limit and event attributes beyond the per-event limit', () => {
    const { tracer } = setup({ limits: { eventCountLimit: 2, attributePerEventCountLimit: 1 } });
    const span = tracer.startSpan('x', {}, ROOT_CONTEXT);
    span.addEvent('one', { a: 1, b: 2, c: 3 }).addEvent('two').addEvent('three');
    assert.deepEqual(span.events.map((e) => e.name), ['one', 'two']);
    assert.deepEqual(span.events[0].attributes, { a: 1 });
    assert.equal(span.events[0].droppedAttributesCount, 2);
    assert.equal(span.droppedEventsCount, 1);
  });

  it('records links from the options and addLink within the link limits', () => {
    const { tracer } = setup({ limits: { linkCountLimit: 2, attributePerLinkCountLimit: 1 } });
    const linked = { ...REMOTE, traceFlags: 1, traceState: createTraceState('k=v') };
    const span = tracer.startSpan('x', { links: [{ context: linked, attributes: { a: 1, b: 2 } }] }, ROOT_CONTEXT);
    span.addLinks([{ context: { ...REMOTE, spanId: 'aaaaaaaaaaaaaaaa', traceFlags: 0 } }, { context: linked }]);
    assert.deepEqual(span.links, [
      { traceId: REMOTE.traceId, spanId: REMOTE.spanId, traceState: 'k=v', traceFlags: 1, attributes: { a: 1 }, droppedAttributesCount: 1 },
      { traceId: REMOTE.traceId, spanId: 'aaaaaaaaaaaaaaaa', traceState: undefined, traceFlags: 0, attributes: {}, droppedAttributesCount: 0 },
    ]);
    assert.equal(span.droppedLinksCount, 1);
  });

  it('exports a link whose ids are malformed as the invalid context when it says something, and leaves it out otherwise', () => {
    const { tracer } = setup();
    const span = tracer.startSpan('x', {}, ROOT_CONTEXT);
    const shortId = { traceId: '4bf92f35', spanId: REMOTE.spanId, traceFlags: 1 };
    const notHex = { traceId: REMOTE.traceId, spanId: 'zzzzzzzzzzzzzzzz', traceFlags: 0 };
    span.addLinks([
      { context: shortId, attributes: { reason: 'retry' } },
      { context: notHex },
      { context: { ...notHex, traceState: createTraceState('k=v') } },
      { context: { ...REMOTE, traceId: REMOTE.traceId.toUpperCase(), traceFlags: 1 } },
      undefined,
      { context: null },
    ]);
    assert.deepEqual(span.links, [
      { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceState: undefined, traceFlags: 1, attributes: { reason: 'retry' }, droppedAttributesCount: 0 },
      { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceState: 'k=v', traceFlags: 0, attributes: {}, droppedAttributesCount: 0 },
      { traceId: REMOTE.traceId.toUpperCase(), spanId: REMOTE.spanId, traceState: undefined, traceFlags: 1, attributes: {}, droppedAttributesCount: 0 },
    ]);
    assert.equal(span.droppedLinksCount, 0);
  });

  it('records an exception as an exception event with type, message and stack trace', () => {
    const { tracer } = setup();
    const span = tracer.startSpan('x', {}, ROOT_CONTEXT);
    const err = new TypeError('bad input');
    span.recordException(err);
    span.recordException('plain string');
    span.recordException({ code: 'ECONNRESET', message: 'socket hang up' });
    assert.deepEqual(span.events.map((e) => e.name), ['exception', 'exception', 'exception']);
    assert.deepEqual(span.events[0].attributes, { 'exception.type': 'TypeError', 'exception.message': 'bad input', 'exception.stacktrace': err.stack });
    assert.deepEqual(span.events[1].attributes, { 'exception.message': 'plain string' });
    assert.deepEqual(span.events[2].attributes, { 'exception.type': 'ECONNRESET', 'exception.message': 'socket hang up' });
  });
});

describe('status', () => {
  it('keeps an ERROR message, lets OK override ERROR, and treats OK as final', () => {
    const { tracer } = setup();
    const span = tracer.startSpan('x', {}, ROOT_CONTEXT);
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    assert.deepEqual(span.status, { code: SpanStatusCode.ERROR, message: 'boom' });
    span.setStatus({ code: SpanStatusCode.OK, message: 'ignored for OK' });
    assert.deepEqual(span.status, { code: SpanStatusCode.OK });
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'too late' });
    assert.deepEqual(span.status, { code: SpanStatusCode.OK });
  });

  it('never lets UNSET override a status already set', () => {
    const { tracer } = setup();
    const span = tracer.startSpan('x', {}, ROOT_CONTEXT);
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setStatus({ code: SpanStatusCode.UNSET });
    assert.deepEqual(span.status, { code: SpanStatusCode.ERROR });
  });
});

describe('active spans', () => {
  it('makes the span active inside fn, across await and setTimeout, and not after', async () => {
    const { tracer } = setup();
    let outer;
    const result = await tracer.startActiveSpan('active', async (span) => {
      outer = span;
      assert.equal(trace.getActiveSpan(), span);
      await sleep(1);
      assert.equal(trace.getActiveSpan(), span);
      await new Promise((resolve) => setTimeout(() => resolve(assert.equal(trace.getActiveSpan(), span)), 1));
      const child = tracer.startSpan('child');
      assert.equal(child.parentSpanId, span.spanId);
      span.end();
      return 42;
    });
    assert.equal(result, 42);
    assert.ok(outer.ended);
    assert.equal(trace.getActiveSpan(), undefined);
  });

  it('takes options and an explicit parent context in startActiveSpan', () => {
    const { tracer } = setup();
    tracer.startActiveSpan('srv', { kind: SpanKind.SERVER }, remoteParent(0x01), (span) => {
      assert.equal(span.kind, SpanKind.SERVER);
      assert.equal(span.parentSpanId, REMOTE.spanId);
      assert.equal(trace.getActiveSpan(), span);
    });
  });

  it('parents spans on the active context through the API and runWith', () => {
    const { tracer } = setup();
    const parentSpan = tracer.startSpan('p', {}, ROOT_CONTEXT);
    context.with(trace.setSpan(context.active(), parentSpan), () => {
      assert.equal(trace.getActiveSpan(), parentSpan);
      assert.equal(tracer.startSpan('c').parentSpanId, parentSpan.spanId);
    });
    const fromRunWith = runWith(trace.setSpan(ROOT_CONTEXT, parentSpan), (a, b) => [tracer.startSpan('c').parentSpanId, a + b], null, [1, 2]);
    assert.deepEqual(fromRunWith, [parentSpan.spanId, 3]);
  });

  it('binds functions and event emitters to a context', () => {
    const { tracer } = setup();
    const span = tracer.startSpan('bound', {}, ROOT_CONTEXT);
    const ctx = trace.setSpan(ROOT_CONTEXT, span);
    const fn = context.bind(ctx, function (a, b) {
      return [trace.getActiveSpan(), this, a + b];
    });
    assert.equal(fn.length, 2);
    const self = {};
    assert.deepEqual(fn.call(self, 1, 2), [span, self, 3]);
    const ee = context.bind(ctx, new EventEmitter());
    let seen;
    ee.on('x', () => (seen = trace.getActiveSpan()));
    ee.emit('x');
    assert.equal(seen, span);
  });
});

describe('the context a span is made active in', () => {
  const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
  const other = trace.wrapSpanContext({ traceId: '1af7651916cd43dd8448eb211c80319c', spanId: 'c7ad6b7169203331', traceFlags: 1 });
  const KEY = createContextKey('periscope test key');
  const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
  const parent = propagation.setBaggage(trace.setSpan(ROOT_CONTEXT.setValue(KEY, 'kept'), other), baggage);

  it("reads like trace.setSpan's: the span, and every other value of the parent", () => {
    const ctx = withSpan(parent, span);
    assert.equal(trace.getSpan(ctx), span);
    assert.equal(ctx.getValue(KEY), 'kept');
    assert.equal(propagation.getBaggage(ctx).getEntry('tenant').value, 'acme');
    assert.equal(trace.getSpan(parent), other, 'the parent is unchanged');
  });

  it('keeps the span and the parent values through setValue and deleteValue, as the API context does', () => {
    const ctx = withSpan(parent, span);
    const KEY2 = createContextKey('another');
    const added = ctx.setValue(KEY2, 42);
    assert.equal(trace.getSpan(added), span);
    assert.equal(added.getValue(KEY2), 42);
    assert.equal(added.getValue(KEY), 'kept');
    assert.equal(ctx.getValue(KEY2), undefined, 'setValue returns a new context');
    const removed = ctx.deleteValue(KEY);
    assert.equal(removed.getValue(KEY), undefined);
    assert.equal(trace.getSpan(removed), span);
    assert.equal(trace.getSpan(trace.deleteSpan(ctx)), undefined);
    assert.equal(trace.getSpan(trace.setSpan(ctx, other)), other);
  });
});

describe('spans that record nothing', () => {
  it('propagate the context a recording span would, through tracecontext and b3', () => {
    const { tracer } = setup({ sink: undefined });
    const span = tracer.startSpan('unsampled');
    assert.equal(span.isRecording(), false);
    const sc = span.spanContext();
    const carrier = {};
    for (const p of [new W3CTraceContextPropagator(), new B3Propagator({ mode: 'single' })]) p.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
    assert.equal(carrier.traceparent, `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags}`);
    assert.equal(carrier.b3, `${sc.traceId}-${sc.spanId}-1`);
    // Every Span method is there and does nothing.
    assert.equal(span.setAttribute('k', 'v').setAttributes({}).addEvent('e').addLink({ context: sc }).setStatus({ code: 2 }).updateName('x'), span);
    span.recordException(new Error('x'));
    span.end();
  });

  it('gives a child of an upper-case span context from elsewhere a lower-case trace id, and propagates it so', () => {
    const { tracer } = setup({ sink: undefined });
    const upper = trace.wrapSpanContext({ traceId: '4BF92F3577B34DA6A3CE929D0E0E4736', spanId: '00F067AA0BA902B7', traceFlags: 1, isRemote: false });
    const child = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, upper));
    assert.equal(child.spanContext().traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    const carrier = {};
    new W3CTraceContextPropagator().inject(trace.setSpan(ROOT_CONTEXT, child), carrier, defaultTextMapSetter);
    assert.match(carrier.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  });

  it('still lower-cases the upper-case ids of a span context from elsewhere', () => {
    const carrier = {};
    const upper = trace.wrapSpanContext({ traceId: '4BF92F3577B34DA6A3CE929D0E0E4736', spanId: '00F067AA0BA902B7', traceFlags: 1, isRemote: false });
    new W3CTraceContextPropagator().inject(trace.setSpan(ROOT_CONTEXT, upper), carrier, defaultTextMapSetter);
    assert.equal(carrier.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  });
});
