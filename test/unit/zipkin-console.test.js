import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeZipkin } from '../../dist/src/telemetry/exporters/zipkin.js';
import { ConsoleExporter, formatSpans } from '../../dist/src/telemetry/exporters/console.js';

const resource = { attributes: { 'service.name': 'checkout', 'host.name': 'box' } };
const TRACE = '0af7651916cd43dd8448eb211c80319c';

function makeSpan(overrides = {}) {
  return {
    name: 'GET /users/:id',
    kind: 1,
    traceId: TRACE,
    spanId: 'b7ad6b7169203331',
    parentSpanId: undefined,
    parentIsRemote: false,
    traceState: undefined,
    traceFlags: 1,
    startTime: 1700000000123.456,
    endTime: 1700000000135.802,
    attributes: {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: { code: 0 },
    scope: { name: 'periscope/http', version: '0.1.0' },
    resource,
    ...overrides,
  };
}

function zipkinOne(overrides) {
  return JSON.parse(encodeZipkin([makeSpan(overrides)]))[0];
}

test('zipkin spans carry ids, kind, microsecond timestamp and duration, and the service name', () => {
  const z = zipkinOne({ parentSpanId: '00f067aa0ba902b7' });
  assert.equal(z.traceId, TRACE);
  assert.equal(z.id, 'b7ad6b7169203331');
  assert.equal(z.parentId, '00f067aa0ba902b7');
  assert.equal(z.name, 'GET /users/:id');
  assert.equal(z.kind, 'SERVER');
  assert.equal(z.timestamp, 1700000000123456);
  assert.equal(z.duration, 12346);
  assert.ok(Number.isInteger(z.timestamp) && Number.isInteger(z.duration));
  assert.deepEqual(z.localEndpoint, { serviceName: 'checkout' });
  assert.equal(z.remoteEndpoint, undefined);
});

test('zipkin maps each span kind and leaves INTERNAL without one', () => {
  const kinds = [0, 1, 2, 3, 4].map((kind) => zipkinOne({ kind }).kind);
  assert.deepEqual(kinds, [undefined, 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']);
  assert.equal(zipkinOne({ parentSpanId: undefined }).parentId, undefined);
});

test('zipkin tags are strings and an ERROR status becomes otel.status_code and error', () => {
  const z = zipkinOne({
    attributes: { 'http.response.status_code': 500, retried: true, list: ['a', 'b'], 'url.path': '/x' },
    status: { code: 2, message: 'boom' },
    droppedAttributesCount: 3,
  });
  assert.deepEqual(z.tags, {
    'http.response.status_code': '500',
    retried: 'true',
    list: '["a","b"]',
    'url.path': '/x',
    'otel.scope.name': 'periscope/http',
    'otel.scope.version': '0.1.0',
    'otel.status_code': 'ERROR',
    error: 'boom',
    'otel.dropped_attributes_count': '3',
  });
  const ok = zipkinOne({ status: { code: 1 } }).tags;
  assert.equal(ok['otel.status_code'], 'OK');
  assert.equal('error' in ok, false);
  assert.equal('otel.status_code' in zipkinOne({}).tags, false);
});

test('zipkin client spans get a remote endpoint from server and peer attributes', () => {
  const byName = zipkinOne({
    kind: 2,
    attributes: { 'server.address': 'api.example.com', 'server.port': 443, 'network.peer.address': '10.0.0.7' },
  });
  assert.deepEqual(byName.remoteEndpoint, { serviceName: 'api.example.com', ipv4: '10.0.0.7', port: 443 });
  const byIp = zipkinOne({ kind: 2, attributes: { 'server.address': '::1', 'server.port': 8080 } });
  assert.deepEqual(byIp.remoteEndpoint, { ipv6: '::1', port: 8080 });
  const server = zipkinOne({ kind: 1, attributes: { 'server.address': 'me', 'server.port': 80 } });
  assert.equal(server.remoteEndpoint, undefined);
});

test('zipkin annotations come from events, with attributes folded into the value', () => {
  const z = zipkinOne({
    events: [
      { name: 'retry', time: 1700000000130.5, attributes: {}, droppedAttributesCount: 0 },
      { name: 'exception', time: 1700000000131, attributes: { 'exception.type': 'Error' }, droppedAttributesCount: 0 },
    ],
  });
  assert.deepEqual(z.annotations, [
    { timestamp: 1700000000130500, value: 'retry' },
    { timestamp: 1700000000131000, value: '{"exception":{"exception.type":"Error"}}' },
  ]);
});

test('zipkin reports a sub-microsecond span as lasting one microsecond', () => {
  assert.equal(zipkinOne({ endTime: 1700000000123.456 }).duration, 1);
});

function tree() {
  return [
    makeSpan({
      name: 'db query',
      kind: 2,
      spanId: '0000000000000003',
      parentSpanId: '0000000000000001',
      startTime: 1000.5,
      endTime: 1003,
      attributes: { 'error.type': 'ECONNRESET' },
      status: { code: 2, message: 'reset' },
    }),
    makeSpan({
      name: 'GET /users/:id',
      spanId: '0000000000000001',
      parentSpanId: 'ffffffffffffffff',
      startTime: 1000,
      endTime: 1012.345,
      attributes: { 'http.request.method': 'GET', 'url.path': '/users/7', 'http.route': '/users/:id', 'http.response.status_code': 200, other: 'hidden' },
    }),
    makeSpan({
      name: 'GET',
      kind: 2,
      spanId: '0000000000000002',
      parentSpanId: '0000000000000001',
      startTime: 1000.25,
      endTime: 1001,
      attributes: { 'http.request.method': 'GET', 'url.full': 'http://api/x', 'url.path': '/x' },
    }),
    makeSpan({ name: 'other trace', traceId: 'f'.repeat(32), spanId: '0000000000000009', startTime: 999, endTime: 1011.345 }),
  ];
}

test('console output is a tree per trace, children indented under their parent by start time', () => {
  const lines = formatSpans(tree()).trimEnd().split('\n');
  assert.deepEqual(lines, [
    'trace ffffffff (ffffffffffffffffffffffffffffffff)',
    '  other trace  SERVER  12.35ms  UNSET  span=0000000000000009',
    'trace 0af76519 (0af7651916cd43dd8448eb211c80319c)',
    '  GET /users/:id  SERVER  12.35ms  UNSET  http.request.method=GET  url.path=/users/7  http.route=/users/:id  http.response.status_code=200  span=0000000000000001',
    '    GET  CLIENT  0.75ms  UNSET  http.request.method=GET  url.full=http://api/x  span=0000000000000002',
    '    db query  CLIENT  2.50ms  ERROR  "reset"  error.type=ECONNRESET  span=0000000000000003',
  ]);
});

test('console output is the same whatever order the batch arrives in', () => {
  const spans = tree();
  assert.equal(formatSpans([...spans].reverse()), formatSpans(spans));
});

test('the console exporter writes one chunk per batch and reports success', async () => {
  const writes = [];
  const exporter = new ConsoleExporter((text) => writes.push(text));
  assert.deepEqual(await exporter.export(tree()), { ok: true, retryable: false });
  exporter.exportSync([], 100);
  assert.equal(writes.length, 1);
  assert.equal(writes[0], formatSpans(tree()));
});

test('the console exporter writes to stderr and never to stdout', () => {
  const moduleUrl = new URL('../../dist/src/telemetry/exporters/console.js', import.meta.url).href;
  const script = `
    const { ConsoleExporter } = await import(${JSON.stringify(moduleUrl)});
    const span = ${JSON.stringify(makeSpan({ name: 'hello' }))};
    new ConsoleExporter().exportSync([[span]], 100);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, '');
  assert.match(child.stderr, /hello {2}SERVER {2}12\.35ms/);
});
