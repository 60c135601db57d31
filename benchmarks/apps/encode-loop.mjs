// The OTLP/protobuf encoder alone (encode.mjs): nanoseconds a span for ProtoSpanQueue.push and the
// span's share of take(), batches of 512 as the exporter takes them, over spans recorded once by
// the tracer of the build in ENCODE_DIST (a dist/ directory) with the attributes the
// instrumentations give them. One shape of service a process (SHAPE), as an app has one:
//   server    hello-world's: SERVER spans only, their peer port from 32 connections
//   service   the proxy app's: a SERVER span, then two CLIENT spans to one upstream
//   clients   CLIENT spans only
// Prints one line: {"shape","ns"}, the median of ROUNDS rounds (default 9) after two of warm-up.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';

const dist = process.env.ENCODE_DIST;
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const SPANS = 300_000;
const lib = (file) => import(pathToFileURL(join(dist, 'src', 'telemetry', file)).href);
const { ProtoSpanQueue } = await lib('exporters/otlp-proto.js');
const { PeriscopeTracerProvider } = await lib('tracer.js');
const { createSampler } = await lib('sampler.js');

const recorded = [];
const limits = { attributeCountLimit: 128, attributeValueLengthLimit: Infinity, eventCountLimit: 128, linkCountLimit: 128, attributePerEventCountLimit: 128, attributePerLinkCountLimit: 128 };
const resource = { attributes: { 'service.name': 'encode-loop', 'process.pid': process.pid } };
const tracer = new PeriscopeTracerProvider({ sampler: createSampler('always_on', 1), resource, limits, sink: { onEnd: (s) => recorded.push(s) } }).getTracer('periscope');

const { clientRequestAttributes, serverRequestAttributes } = await import(pathToFileURL(join(dist, 'src', 'semconv', 'http.js')).href);

// Built by the build's own semconv functions, as the instrumentations call them, with the status
// code they add when the response ends.
const server = (i) => {
  const req = { method: 'GET', url: '/', httpVersion: '1.1', headers: { host: '127.0.0.1:8080', 'user-agent': 'autocannon/8' }, remoteAddress: '127.0.0.1', remotePort: 40000 + (i % 32), localPort: 8080 };
  const attributes = serverRequestAttributes(req, 'GET', 'http');
  attributes['http.response.status_code'] = 200;
  return attributes;
};
const client = () => {
  const attributes = clientRequestAttributes({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 9090, path: '/', hasCredentials: false }, 'GET', 'GET');
  attributes['http.response.status_code'] = 200;
  return attributes;
};

function record(kind, attributes) {
  const span = tracer.start('GET', kind, ROOT_CONTEXT, attributes, performance.timeOrigin + performance.now());
  span.end();
  return recorded.pop();
}

const shapes = {
  server: (i) => record(SpanKind.SERVER, server(i)),
  service: (i) => (i % 3 === 0 ? record(SpanKind.SERVER, server(i / 3)) : record(SpanKind.CLIENT, client())),
  clients: () => record(SpanKind.CLIENT, client()),
};
const shape = process.env.SHAPE ?? 'server';
if (!(shape in shapes)) throw new Error(`SHAPE is one of ${Object.keys(shapes).join(', ')}`);
const spans = Array.from({ length: 96 }, (_, i) => shapes[shape](i));

function round() {
  const q = new ProtoSpanQueue();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < SPANS; i++) {
    q.push(spans[i % spans.length]);
    if (q.length === 512) q.recycle(q.take(512));
  }
  return Number(process.hrtime.bigint() - t0) / SPANS;
}

const times = [];
for (let r = -2; r < ROUNDS; r++) {
  const ns = round();
  if (r >= 0) times.push(ns);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ shape, ns: Math.round(times[times.length >> 1]) }));
