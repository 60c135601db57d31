import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { encodeOtlpJson } from '../../dist/src/telemetry/exporters/otlp-json.js';
import { ProtoSpanQueue, encodeOtlpProto } from '../../dist/src/telemetry/exporters/otlp-proto.js';
import { attrs, decodeProto } from '../helpers/otlp-receiver.js';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { PeriscopeTracerProvider } from '../../dist/src/telemetry/tracer.js';
import { createSampler } from '../../dist/src/telemetry/sampler.js';
import { newSpanId, newTraceId } from '../../dist/src/telemetry/ids.js';

// The generated protobufjs root of opentelemetry-proto that @opentelemetry/otlp-transformer
// shipped up to 0.216 (later versions dropped it, hence the exact pin in package.json).
const require = createRequire(import.meta.url);
const { opentelemetry } = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const Request = opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const resource = { attributes: { 'service.name': 'checkout', 'process.pid': 4242 } };

function makeSpan(overrides = {}) {
  return {
    name: 'GET /users/:id',
    kind: 1, // SERVER
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    parentSpanId: '00f067aa0ba902b7',
    parentIsRemote: true,
    traceState: 'vendor=abc',
    traceFlags: 1,
    startTime: 1700000000123.456,
    endTime: 1700000000223.789,
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, ratio: 0.25, cached: false },
    droppedAttributesCount: 2,
    events: [{ name: 'exception', time: 1700000000200.001, attributes: { 'exception.message': 'boom' }, droppedAttributesCount: 1 }],
    droppedEventsCount: 3,
    links: [
      {
        traceId: '1af7651916cd43dd8448eb211c80319c',
        spanId: 'c7ad6b7169203331',
        traceState: 'k=v',
        traceFlags: 1,
        attributes: { reason: 'retry' },
        droppedAttributesCount: 0,
      },
    ],
    droppedLinksCount: 4,
    status: { code: 2, message: 'upstream failed' },
    scope: { name: 'periscope/http', version: '0.1.0' },
    resource,
    ...overrides,
  };
}

function firstJsonSpan(spans) {
  return JSON.parse(encodeOtlpJson(spans)).resourceSpans[0].scopeSpans[0].spans[0];
}

/** Decode with the official schema, then rewrite the bytes fields as hex as OTLP JSON has them. */
function officialDecode(bytes) {
  const obj = Request.toObject(Request.decode(bytes), { longs: String, bytes: String, enums: Number });
  const hexify = (o) => {
    if (Array.isArray(o)) return o.map(hexify);
    if (o === null || typeof o !== 'object') return o;
    const out = {};
    for (const [k, v] of Object.entries(o)) {
      out[k] = ['traceId', 'spanId', 'parentSpanId'].includes(k) ? Buffer.from(v, 'base64').toString('hex') : hexify(v);
    }
    return out;
  };
  return hexify(obj);
}

// Proto3 leaves default values out of the wire; drop them on both sides before comparing. Values
// inside an AnyValue are kept: an intValue of "0" or a boolValue of false must survive. Attributes
// are a map, and the protobuf encoder writes a span's changed pairs ahead of its remembered ones,
// so KeyValue lists are compared sorted by key.
const byKey = (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const DEFAULTABLE = new Set(['droppedAttributesCount', 'droppedEventsCount', 'droppedLinksCount', 'flags', 'code', 'message', 'traceState', 'parentSpanId', 'attributes', 'events', 'links', 'schemaUrl']);
function canon(o) {
  if (Array.isArray(o)) return o.map(canon);
  if (o === null || typeof o !== 'object') return o;
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    if (DEFAULTABLE.has(k) && (v === 0 || v === '' || (Array.isArray(v) && v.length === 0))) continue;
    out[k] = k === 'attributes' && Array.isArray(v) ? canon([...v].sort(byKey)) : canon(v);
  }
  return out;
}

test('JSON writes ids as hex, kind as the OTLP enum and times as exact nanosecond strings', () => {
  const span = firstJsonSpan([makeSpan()]);
  assert.equal(span.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(span.spanId, 'b7ad6b7169203331');
  assert.equal(span.parentSpanId, '00f067aa0ba902b7');
  assert.equal(span.kind, 2); // SPAN_KIND_SERVER
  assert.equal(span.startTimeUnixNano, '1700000000123456000');
  assert.equal(span.endTimeUnixNano, '1700000000223789000');
  assert.equal(span.events[0].timeUnixNano, '1700000000200001000');
  assert.deepEqual(span.status, { code: 2, message: 'upstream failed' });
  assert.equal(span.traceState, 'vendor=abc');
  assert.equal(span.droppedAttributesCount, 2);
  assert.equal(span.droppedEventsCount, 3);
  assert.equal(span.droppedLinksCount, 4);
  for (const kind of [0, 1, 2, 3, 4]) assert.equal(firstJsonSpan([makeSpan({ kind })]).kind, kind + 1);
});

test('JSON encodes integers as intValue strings, fractions as doubleValue and arrays as arrayValue', () => {
  const span = firstJsonSpan([
    makeSpan({ attributes: { s: 'x', i: 200, neg: -5, zero: 0, d: 0.25, b: true, list: ['a', null, 'b'], nums: [1, 2.5] } }),
  ]);
  const byKey = Object.fromEntries(span.attributes.map((kv) => [kv.key, kv.value]));
  assert.deepEqual(byKey.s, { stringValue: 'x' });
  assert.deepEqual(byKey.i, { intValue: '200' });
  assert.deepEqual(byKey.neg, { intValue: '-5' });
  assert.deepEqual(byKey.zero, { intValue: '0' });
  assert.deepEqual(byKey.d, { doubleValue: 0.25 });
  assert.deepEqual(byKey.b, { boolValue: true });
  assert.deepEqual(byKey.list, { arrayValue: { values: [{ stringValue: 'a' }, {}, { stringValue: 'b' }] } });
  assert.deepEqual(byKey.nums, { arrayValue: { values: [{ intValue: '1' }, { doubleValue: 2.5 }] } });
});

test('JSON spells non-finite doubles as strings and sends integers beyond 2^53 as doubles', () => {
  const span = firstJsonSpan([makeSpan({ attributes: { nan: NaN, inf: Infinity, ninf: -Infinity, huge: 2 ** 60 } })]);
  const byKey = Object.fromEntries(span.attributes.map((kv) => [kv.key, kv.value]));
  assert.deepEqual(byKey.nan, { doubleValue: 'NaN' });
  assert.deepEqual(byKey.inf, { doubleValue: 'Infinity' });
  assert.deepEqual(byKey.ninf, { doubleValue: '-Infinity' });
  assert.deepEqual(byKey.huge, { doubleValue: 2 ** 60 });
});

test('span flags carry the W3C byte plus the has-is-remote and is-remote bits', () => {
  assert.equal(firstJsonSpan([makeSpan({ parentIsRemote: true, traceFlags: 1 })]).flags, 0x301);
  assert.equal(firstJsonSpan([makeSpan({ parentIsRemote: false, traceFlags: 1 })]).flags, 0x101);
  assert.equal(firstJsonSpan([makeSpan({ parentIsRemote: false, traceFlags: 0 })]).flags, 0x100);
  // A link does not record whether it is remote, so only the W3C flags are sent.
  assert.equal(firstJsonSpan([makeSpan()]).links[0].flags, 1);
});

test('JSON leaves out parentSpanId and traceState when the span has none', () => {
  const span = firstJsonSpan([makeSpan({ parentSpanId: undefined, traceState: undefined, parentIsRemote: false })]);
  assert.equal('parentSpanId' in span, false);
  assert.equal('traceState' in span, false);
});

test('spans are grouped by resource identity and then by scope name and version', () => {
  const other = { attributes: { 'service.name': 'checkout' } }; // equal content, another object
  const spans = [
    makeSpan({ spanId: '0000000000000001' }),
    makeSpan({ spanId: '0000000000000002', scope: { name: 'periscope/undici', version: '0.1.0' } }),
    makeSpan({ spanId: '0000000000000003', resource: other }),
    makeSpan({ spanId: '0000000000000004', scope: { name: 'periscope/http', version: '0.1.0' } }),
    makeSpan({ spanId: '0000000000000005', scope: { name: 'periscope/http', version: undefined } }),
  ];
  for (const request of [JSON.parse(encodeOtlpJson(spans)), officialDecode(encodeOtlpProto(spans))]) {
    const shape = request.resourceSpans.map((rs) =>
      rs.scopeSpans.map((ss) => [`${ss.scope.name}@${ss.scope.version ?? '-'}`, ss.spans.map((s) => s.spanId.slice(-1))]),
    );
    assert.deepEqual(shape, [
      [
        ['periscope/http@0.1.0', ['1', '4']],
        ['periscope/undici@0.1.0', ['2']],
        ['periscope/http@-', ['5']],
      ],
      [['periscope/http@0.1.0', ['3']]],
    ]);
  }
});

test('protobuf times are exact nanoseconds for any microsecond from 1970 to the year 2200', () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const edges = [1, 999, 4294967295, 4294967296, 4294967297, 65535, 65536, 1700000000123456, 7258118400000000 - 1];
  const micros = [...edges, ...Array.from({ length: 200 }, () => Math.floor(next() * 7258118400000000))];
  const spans = micros.map((us, i) => makeSpan({ startTime: us / 1000, endTime: (us + i) / 1000 }));
  const decoded = officialDecode(encodeOtlpProto(spans)).resourceSpans[0].scopeSpans[0].spans;
  // Times are float milliseconds: the microseconds are what a span's time rounds to.
  const nanos = (ms) => `${BigInt(Math.round(ms * 1000)) * 1000n}`;
  spans.forEach((span, i) => {
    assert.equal(decoded[i].startTimeUnixNano, nanos(span.startTime), `start ${span.startTime} ms`);
    assert.equal(decoded[i].endTimeUnixNano, nanos(span.endTime), `end ${span.endTime} ms`);
  });
});

test('protobuf bytes decode with the official schema to the same ids, names, times and attributes', () => {
  const bytes = encodeOtlpProto([makeSpan()]);
  assert.ok(bytes instanceof Uint8Array);
  const rs = officialDecode(bytes).resourceSpans[0];
  assert.deepEqual(attrs(rs.resource.attributes), { 'service.name': 'checkout', 'process.pid': 4242 });
  assert.deepEqual(rs.scopeSpans[0].scope, { name: 'periscope/http', version: '0.1.0' });
  const span = rs.scopeSpans[0].spans[0];
  assert.equal(span.traceId, '0af7651916cd43dd8448eb211c80319c');
  assert.equal(span.spanId, 'b7ad6b7169203331');
  assert.equal(span.parentSpanId, '00f067aa0ba902b7');
  assert.equal(span.traceState, 'vendor=abc');
  assert.equal(span.name, 'GET /users/:id');
  assert.equal(span.kind, 2);
  assert.equal(span.startTimeUnixNano, '1700000000123456000');
  assert.equal(span.endTimeUnixNano, '1700000000223789000');
  assert.equal(span.flags, 0x301);
  assert.deepEqual(attrs(span), { 'http.request.method': 'GET', 'http.response.status_code': 200, ratio: 0.25, cached: false });
  assert.equal(span.droppedAttributesCount, 2);
});

test('protobuf writes every hex digit of an id, in either case, as its byte', () => {
  // Every digit in both positions of a byte: 0–9, a–f and A–F.
  const traceId = '0123456789abcdefABCDEF9876543210';
  const spanId = 'fedcba9876543210';
  const parentSpanId = '0A1b2C3d4E5f6789';
  const span = officialDecode(encodeOtlpProto([makeSpan({ traceId, spanId, parentSpanId })])).resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(span.traceId, traceId.toLowerCase());
  assert.equal(span.spanId, spanId);
  assert.equal(span.parentSpanId, parentSpanId.toLowerCase());
});

test('protobuf events, links, status and dropped counts survive the official decoder', () => {
  const span = officialDecode(encodeOtlpProto([makeSpan()])).resourceSpans[0].scopeSpans[0].spans[0];
  assert.deepEqual(span.events, [
    {
      timeUnixNano: '1700000000200001000',
      name: 'exception',
      attributes: [{ key: 'exception.message', value: { stringValue: 'boom' } }],
      droppedAttributesCount: 1,
    },
  ]);
  assert.deepEqual(span.links, [
    {
      traceId: '1af7651916cd43dd8448eb211c80319c',
      spanId: 'c7ad6b7169203331',
      traceState: 'k=v',
      attributes: [{ key: 'reason', value: { stringValue: 'retry' } }],
      flags: 1,
    },
  ]);
  assert.deepEqual(span.status, { code: 2, message: 'upstream failed' });
  assert.equal(span.droppedEventsCount, 3);
  assert.equal(span.droppedLinksCount, 4);
});

test('both encoders produce the same request for the same spans', () => {
  const spans = [
    makeSpan(),
    makeSpan({
      spanId: 'a7ad6b7169203332',
      kind: 2,
      parentSpanId: 'b7ad6b7169203331',
      parentIsRemote: false,
      traceState: undefined,
      traceFlags: 0,
      attributes: { neg: -123456789012, zero: 0, f: false, empty: '', list: ['x', null], mixed: [1, 1.5], big: 2 ** 40 },
      events: [],
      links: [],
      status: { code: 0 },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
      startTime: 1700000000000,
      endTime: 1700000000000.001,
    }),
  ];
  assert.deepEqual(canon(officialDecode(encodeOtlpProto(spans))), canon(JSON.parse(encodeOtlpJson(spans))));
});

test('protobuf handles multi-byte text and lengths that need multi-byte varints', () => {
  const long = 'é'.repeat(5000) + '😀'.repeat(100);
  const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`attr.${i}`, `value ${i} ${'x'.repeat(i)}`]));
  const spans = Array.from({ length: 50 }, (_, i) =>
    makeSpan({ spanId: i.toString(16).padStart(16, '0'), name: `名前 ${i} ${long}`, attributes: { ...many, unicode: long } }),
  );
  const bytes = encodeOtlpProto(spans);
  assert.ok(bytes.length > 1_000_000);
  const decoded = officialDecode(bytes).resourceSpans[0].scopeSpans[0].spans;
  assert.equal(decoded.length, 50);
  assert.equal(decoded[49].name, `名前 49 ${long}`);
  assert.equal(attrs(decoded[7]).unicode, long);
  assert.equal(attrs(decoded[7])['attr.299'], many['attr.299']);
  assert.deepEqual(canon(officialDecode(bytes)), canon(JSON.parse(encodeOtlpJson(spans))));
});

test('an empty batch encodes as an empty request', () => {
  assert.equal(encodeOtlpProto([]).length, 0);
  assert.deepEqual(JSON.parse(encodeOtlpJson([])), { resourceSpans: [] });
});

test('the test receiver decodes protobuf into the same shape as the JSON encoding', () => {
  const spans = [makeSpan(), makeSpan({ spanId: 'a7ad6b7169203332', attributes: { n: -7, list: [true, false] } })];
  assert.deepEqual(canon(decodeProto(encodeOtlpProto(spans))), canon(JSON.parse(encodeOtlpJson(spans))));
});

test('the protobuf queue hands out batches at span boundaries, oldest first, each scope in its own order', () => {
  const q = new ProtoSpanQueue();
  const scopes = [
    { name: 'periscope/http', version: '0.1.0' },
    { name: 'shop', version: undefined },
    { name: 'periscope/http', version: '0.1.0' }, // another object, same scope: same ScopeSpans
  ];
  const sent = [];
  for (let i = 0; i < 12; i++) {
    const s = makeSpan({ name: `s${i}`, spanId: (i + 1).toString(16).padStart(16, '0'), scope: scopes[i % 3] });
    sent.push(s);
    q.push(s);
  }
  const names = (bytes) =>
    officialDecode(bytes).resourceSpans.flatMap((r) => r.scopeSpans.map((ss) => `${ss.scope.name}: ${ss.spans.map((s) => s.name).join(' ')}`));
  const first = q.take(5);
  assert.equal(first.count, 5);
  assert.equal(q.length, 7);
  assert.deepEqual(names(first.data), ['periscope/http: s0 s2 s3 s5 s6']);
  const rest = q.take(100);
  assert.equal(rest.count, 7);
  assert.equal(q.length, 0);
  assert.deepEqual(names(rest.data), ['periscope/http: s8 s9 s11', 'shop: s1 s4 s7 s10']);
  // Together they are exactly the spans, as the JSON encoder sees them.
  const decoded = canon(officialDecode(Buffer.concat([first.data, rest.data])));
  assert.equal(decoded.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).length, 12);
  assert.equal(q.take(10).count, 0);
});

test('the protobuf queue keeps nothing of a span it could not encode, and goes on with the next', () => {
  const q = new ProtoSpanQueue();
  q.push(makeSpan({ name: 'before' }));
  const poisoned = makeSpan({
    name: 'poisoned',
    attributes: new Proxy({ a: 1 }, { ownKeys: () => ['a'], getOwnPropertyDescriptor: () => ({ enumerable: true, configurable: true }), get: () => { throw new Error('getter'); } }),
  });
  assert.throws(() => q.push(poisoned), /getter/);
  q.push(makeSpan({ name: 'after', spanId: 'a7ad6b7169203332' }));
  assert.equal(q.length, 2);
  const spans = officialDecode(q.take(10).data).resourceSpans[0].scopeSpans[0].spans;
  assert.deepEqual(spans.map((s) => s.name), ['before', 'after']);
});

test('protobuf lengths stay minimal for a span under 128 bytes and one over 16 KiB', () => {
  const tiny = makeSpan({ name: 't', traceState: undefined, parentSpanId: undefined, attributes: {}, events: [], links: [], status: { code: 0 } });
  const big = makeSpan({ name: 'x'.repeat(20_000) });
  for (const s of [tiny, big]) {
    const bytes = encodeOtlpProto([s]);
    // Re-encoding with the official encoder gives the same bytes only if every varint is minimal.
    assert.deepEqual(Buffer.from(Request.encode(Request.decode(bytes)).finish()), Buffer.from(bytes));
    assert.deepEqual(canon(officialDecode(bytes)), canon(JSON.parse(encodeOtlpJson([s]))));
  }
});

test('a span without events, links, drops or status message is, byte for byte, what the official encoder writes', () => {
  // Such spans (nearly all) have their kind, times, status and flags written in one go.
  const plain = { events: [], links: [], droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0 };
  const spans = [];
  for (const kind of [0, 1, 2, 3, 4]) {
    for (const code of [0, 1, 2]) {
      spans.push(makeSpan({ ...plain, kind, status: { code }, traceFlags: code === 2 ? 0 : 1, parentIsRemote: kind === 1 }));
    }
  }
  spans.push(makeSpan({ ...plain, parentSpanId: undefined, traceState: undefined, status: { code: 1, message: '' } }));
  for (const s of spans) {
    const bytes = encodeOtlpProto([s]);
    assert.deepEqual(Buffer.from(Request.encode(Request.decode(bytes)).finish()), Buffer.from(bytes), `kind ${s.kind}, status ${s.status.code}`);
    assert.deepEqual(canon(officialDecode(bytes)), canon(JSON.parse(encodeOtlpJson([s]))), `kind ${s.kind}, status ${s.status.code}`);
  }
});

test('attribute values that repeat, change and come back decode to each span its own values', () => {
  const values = ['GET', 'GET', 'POST', 'GET', 200, 200, '200', true, true, 'x'.repeat(300), 'x'.repeat(300), 'GET'];
  const spans = values.map((v, i) =>
    makeSpan({
      spanId: (i + 1).toString(16).padStart(16, '0'),
      // The same keys every time, as an instrumentation sets them; one key whose value always changes.
      attributes: { 'http.request.method': v, 'url.scheme': 'http', 'network.peer.port': 40000 + i, list: ['a', i] },
    }),
  );
  const q = new ProtoSpanQueue();
  for (const s of spans) q.push(s);
  const decoded = officialDecode(q.take(spans.length).data).resourceSpans[0].scopeSpans[0].spans;
  assert.deepEqual(
    decoded.map((s) => attrs(s)['http.request.method']),
    values,
  );
  assert.deepEqual(canon(officialDecode(encodeOtlpProto(spans))), canon(JSON.parse(encodeOtlpJson(spans))));
});

test('runs of remembered attributes copied again decode right when a pair in them, or after them, changes', () => {
  // Long constant values make runs long enough to be copied whole; `mid` and `tail` take each
  // value three times in a row, so it is remembered and the runs around it recur, break and mend.
  const long = (k) => `${k}:`.padEnd(40, 'v');
  const seq = ['x', 'x', 'x', 'y', 'y', 'y', 'x', 'x', 'x', 'z', 'y', 'y', 'y'];
  const spans = [];
  for (let i = 0; i < seq.length * 2; i++) {
    const mid = seq[i % seq.length];
    const tail = seq[(i + 5) % seq.length];
    spans.push(makeSpan({
      spanId: (i + 1).toString(16).padStart(16, '0'),
      attributes: i % 7 === 6
        ? { 'a.key': long('a'), 'b.key': long('b'), mid }
        : { 'a.key': long('a'), 'b.key': long('b'), mid, 'c.key': long('c'), 'd.key': long('d'), tail },
    }));
  }
  const q = new ProtoSpanQueue();
  for (const s of spans) q.push(s);
  const decoded = officialDecode(q.take(spans.length).data).resourceSpans[0].scopeSpans[0].spans;
  assert.equal(decoded.length, spans.length);
  decoded.forEach((d, i) => {
    // Each key once: a run copied too long would repeat keys that attrs() folds away.
    assert.deepEqual(d.attributes.map((kv) => kv.key).sort(), Object.keys(spans[i].attributes).sort(), `span ${i}`);
    assert.deepEqual(attrs(d), spans[i].attributes, `span ${i}`);
  });
});

test('a number that changes on every span in the middle of remembered attributes decodes to each span its own value', () => {
  // As a server span's network.peer.port does when consecutive requests come over different
  // connections; the values cross varint lengths, the sign, 2^31, the largest safe integer and a fraction.
  const ports = [40000, 40001, 0, 1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455, 268435456, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER, -1, 1.5, 40000, 40000, 7];
  const spans = ports.map((port, i) =>
    makeSpan({
      spanId: (i + 1).toString(16).padStart(16, '0'),
      attributes: { 'http.request.method': 'GET', 'url.scheme': 'http', 'server.address': 'example.test', 'network.peer.port': port, 'user_agent.original': 'curl/8', 'http.response.status_code': 200 },
    }),
  );
  const q = new ProtoSpanQueue();
  for (const s of spans) q.push(s);
  const bytes = q.take(spans.length).data;
  // Re-encoding with the official encoder gives the same bytes only if every varint is minimal.
  assert.deepEqual(Buffer.from(Request.encode(Request.decode(bytes)).finish()), Buffer.from(bytes));
  const decoded = officialDecode(bytes).resourceSpans[0].scopeSpans[0].spans;
  decoded.forEach((d, i) => {
    assert.deepEqual(d.attributes.map((kv) => kv.key).sort(), Object.keys(spans[i].attributes).sort(), `span ${i}`);
    assert.deepEqual(attrs(d), spans[i].attributes, `span ${i}`);
  });
  assert.deepEqual(canon(officialDecode(bytes)), canon(JSON.parse(encodeOtlpJson(spans))));
});

test('a server span and the client spans it makes, interleaved, each decode to their own attributes and kind', () => {
  // Kinds remember their pairs apart: server.port is this service's port on the SERVER span and
  // the upstream's on the CLIENT spans, and each kind's keys come in their own order. A kind
  // outside the api's enum (99) must still encode, with its own attributes.
  const spans = [];
  for (let i = 0; i < 12; i++) {
    const id = () => (spans.length + 1).toString(16).padStart(16, '0');
    const server = { 'http.request.method': 'GET', 'url.scheme': 'http', 'url.path': '/checkout', 'server.address': 'shop.test', 'server.port': 8080, 'network.peer.port': 50000 + i, 'http.response.status_code': i === 7 ? 500 : 200 };
    spans.push(makeSpan({ kind: 1, spanId: id(), attributes: server }));
    for (const port of [9090, 9091]) {
      const client = { 'http.request.method': 'GET', 'server.address': 'stock.test', 'server.port': port, 'url.full': `http://stock.test:${port}/items`, 'http.response.status_code': 200 };
      spans.push(makeSpan({ kind: 2, spanId: id(), attributes: client }));
    }
    if (i % 4 === 3) spans.push(makeSpan({ kind: 99, spanId: id(), attributes: { 'server.port': 1, 'url.path': '/odd' } }));
  }
  const q = new ProtoSpanQueue();
  for (const s of spans) q.push(s);
  const bytes = q.take(spans.length).data;
  const decoded = officialDecode(bytes).resourceSpans[0].scopeSpans[0].spans;
  assert.equal(decoded.length, spans.length);
  decoded.forEach((d, i) => {
    assert.deepEqual(attrs(d), spans[i].attributes, `span ${i}`);
    assert.equal(d.kind, spans[i].kind + 1, `span ${i}`);
  });
  assert.deepEqual(canon(officialDecode(bytes)), canon(JSON.parse(encodeOtlpJson(spans))));
});

test('remembered attribute bytes stay right when their store fills and starts over, and when keys change order', () => {
  // 400 keys of ~200-byte values, each value twice in a row: more remembered bytes than the
  // encoder keeps (64 KiB), so it forgets them all at least once mid-stream.
  // Then the same with the constant pairs first, so that a run of them is still waiting to be
  // copied when a new value is kept and the store starts over.
  const big = (k, round) => `${k}:${round}:`.padEnd(200, 'v');
  const spans = [];
  for (const keyFirst of [true, false]) {
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 400; k++) {
        for (let twice = 0; twice < 2; twice++) {
          const constant = { 'url.scheme': 'http', 'http.response.status_code': 200 };
          const attributes = keyFirst ? { [`key.${k}`]: big(k, round), ...constant } : { ...constant, [`key.${k}`]: big(k, round) };
          spans.push(makeSpan({ spanId: (spans.length + 1).toString(16).padStart(16, '0'), attributes }));
        }
      }
    }
  }
  // The same keys in another order, and fewer of them, between spans of the first order.
  for (let i = 0; i < 6; i++) {
    const attributes = i % 2 === 0
      ? { 'http.request.method': 'GET', 'url.scheme': 'http', 'server.port': 8080, 'url.path': '/a' }
      : { 'url.path': '/a', 'server.port': 8080, 'http.request.method': 'GET' };
    spans.push(makeSpan({ spanId: (spans.length + 1).toString(16).padStart(16, '0'), attributes }));
  }
  const q = new ProtoSpanQueue();
  for (const s of spans) q.push(s);
  const decoded = officialDecode(q.take(spans.length).data).resourceSpans[0].scopeSpans[0].spans;
  assert.equal(decoded.length, spans.length);
  decoded.forEach((d, i) => assert.deepEqual(attrs(d), spans[i].attributes, `span ${i}`));
});

test('spans the tracer records encode their own ids: root, local child, remote child and child of an unrecorded span', () => {
  const ended = [];
  const limits = { attributeCountLimit: 128, attributeValueLengthLimit: Infinity, eventCountLimit: 128, linkCountLimit: 128, attributePerEventCountLimit: 128, attributePerLinkCountLimit: 128 };
  const pipeline = { sampler: createSampler('always_on', 1), resource, limits, sink: { onEnd: (s) => ended.push(s) } };
  const tracer = new PeriscopeTracerProvider(pipeline).getTracer('ids-test');
  const unrecorded = new PeriscopeTracerProvider({ ...pipeline, sampler: createSampler('always_off', 1) }).getTracer('ids-test');
  const spans = [];
  // Enough spans that the random pool is refilled between a parent's ids and its child's, with
  // ids drawn in between, and a parent that ends after its child.
  for (let i = 0; i < 3000; i++) {
    const root = tracer.startSpan('root', {}, ROOT_CONTEXT);
    newTraceId();
    newSpanId();
    const child = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, root));
    const grandchild = tracer.startSpan('grandchild', {}, trace.setSpan(ROOT_CONTEXT, child));
    grandchild.end();
    child.end();
    root.end();
  }
  // Remote parents, in lower and upper case (the API accepts both); an unrecorded local parent.
  const remote = { traceId: '4BF92F3577B34DA6A3CE929D0E0E4736', spanId: '00F067AA0BA902B7', traceFlags: 1, isRemote: true };
  tracer.startSpan('remote upper', {}, trace.setSpanContext(ROOT_CONTEXT, remote)).end();
  tracer.startSpan('remote lower', {}, trace.setSpanContext(ROOT_CONTEXT, { ...remote, traceId: remote.traceId.toLowerCase(), spanId: remote.spanId.toLowerCase() })).end();
  const quiet = unrecorded.startSpan('unrecorded', {}, ROOT_CONTEXT);
  tracer.startSpan('child of unrecorded', {}, trace.setSpan(ROOT_CONTEXT, quiet)).end();
  // Roots of a ratio sampler, whose trace id is drawn as hex before the decision: the sampled
  // ones must record the very id the sampler read.
  const ratio = new PeriscopeTracerProvider({ ...pipeline, sampler: createSampler('traceidratio', 0.5) }).getTracer('ids-test');
  const ratioRoots = [];
  for (let i = 0; i < 200; i++) {
    const span = ratio.startSpan('ratio root', {}, ROOT_CONTEXT);
    if (span.isRecording()) ratioRoots.push(span.spanContext().traceId);
    span.end();
  }
  spans.push(...ended);
  const q = new ProtoSpanQueue();
  for (const s of spans) q.push(s);
  const decoded = officialDecode(q.take(spans.length).data).resourceSpans[0].scopeSpans[0].spans;
  assert.equal(decoded.length, 9003 + ratioRoots.length);
  decoded.forEach((d, i) => {
    const s = spans[i];
    assert.equal(d.traceId, s.traceId.toLowerCase(), `span ${i} (${s.name}) trace id`);
    assert.equal(d.spanId, s.spanId, `span ${i} (${s.name}) span id`);
    assert.equal(d.parentSpanId ?? '', (s.parentSpanId ?? '').toLowerCase(), `span ${i} (${s.name}) parent span id`);
  });
  assert.ok(ratioRoots.length > 50, `${ratioRoots.length} of 200 ratio roots sampled`);
  assert.deepEqual(decoded.filter((d) => d.name === 'ratio root').map((d) => d.traceId), ratioRoots);
  const byName = Object.fromEntries(decoded.filter((d) => d.name !== 'ratio root').slice(-3).map((d) => [d.name, d]));
  assert.equal(byName['remote upper'].traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(byName['remote upper'].parentSpanId, '00f067aa0ba902b7');
  assert.deepEqual(byName['remote lower'].parentSpanId, byName['remote upper'].parentSpanId);
  assert.equal(byName['child of unrecorded'].traceId, quiet.spanContext().traceId);
  assert.equal(byName['child of unrecorded'].parentSpanId, quiet.spanContext().spanId);
});
