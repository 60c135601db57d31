// A tiny OTLP/HTTP + Zipkin receiver for tests. Whatever the wire format (OTLP JSON, OTLP
// protobuf, gzip or not), spans come out in one shape, the OTLP JSON one: hex ids, decimal-string
// nanosecond times, attributes as [{ key, value: { stringValue | intValue | ... } }].
//
//   const receiver = await startReceiver();
//   // run something with OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url
//   const spans = await receiver.waitForSpans(2);                    // at least two spans
//   await receiver.waitForSpans((all) => all.some((s) => s.kind === 2)); // a predicate over all spans
//   attrs(spans[0])['http.route'];
//   receiver.respondWith(503, { 'retry-after': '1' });               // fail what comes next
//   await receiver.close();
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';

// Field tables from opentelemetry-proto (trace.proto, common.proto, resource.proto):
// field number -> [json name, type, repeated]. Types in lower case are scalars.
const SCHEMA = {
  Request: { 1: ['resourceSpans', 'ResourceSpans', true] },
  ResourceSpans: { 1: ['resource', 'Resource'], 2: ['scopeSpans', 'ScopeSpans', true], 3: ['schemaUrl', 'string'] },
  Resource: { 1: ['attributes', 'KeyValue', true], 2: ['droppedAttributesCount', 'uint'] },
  ScopeSpans: { 1: ['scope', 'Scope'], 2: ['spans', 'Span', true], 3: ['schemaUrl', 'string'] },
  Scope: { 1: ['name', 'string'], 2: ['version', 'string'], 3: ['attributes', 'KeyValue', true], 4: ['droppedAttributesCount', 'uint'] },
  Span: {
    1: ['traceId', 'hex'], 2: ['spanId', 'hex'], 3: ['traceState', 'string'], 4: ['parentSpanId', 'hex'],
    5: ['name', 'string'], 6: ['kind', 'uint'], 7: ['startTimeUnixNano', 'fixed64'], 8: ['endTimeUnixNano', 'fixed64'],
    9: ['attributes', 'KeyValue', true], 10: ['droppedAttributesCount', 'uint'], 11: ['events', 'Event', true],
    12: ['droppedEventsCount', 'uint'], 13: ['links', 'Link', true], 14: ['droppedLinksCount', 'uint'],
    15: ['status', 'Status'], 16: ['flags', 'fixed32'],
  },
  Event: { 1: ['timeUnixNano', 'fixed64'], 2: ['name', 'string'], 3: ['attributes', 'KeyValue', true], 4: ['droppedAttributesCount', 'uint'] },
  Link: {
    1: ['traceId', 'hex'], 2: ['spanId', 'hex'], 3: ['traceState', 'string'], 4: ['attributes', 'KeyValue', true],
    5: ['droppedAttributesCount', 'uint'], 6: ['flags', 'fixed32'],
  },
  Status: { 2: ['message', 'string'], 3: ['code', 'uint'] },
  KeyValue: { 1: ['key', 'string'], 2: ['value', 'AnyValue'] },
  AnyValue: {
    1: ['stringValue', 'string'], 2: ['boolValue', 'bool'], 3: ['intValue', 'int64'], 4: ['doubleValue', 'double'],
    5: ['arrayValue', 'ArrayValue'], 6: ['kvlistValue', 'KeyValueList'], 7: ['bytesValue', 'base64'],
  },
  ArrayValue: { 1: ['values', 'AnyValue', true] },
  KeyValueList: { 1: ['values', 'KeyValue', true] },
};

/** Decode protobuf bytes of message `type` into the OTLP JSON shape. Test-only, not fast. */
export function decodeProto(buf, type = 'Request') {
  const fields = SCHEMA[type];
  const out = {};
  let pos = 0;
  const varint = () => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error(`truncated varint in ${type}`);
      const b = buf[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    let raw;
    if (wire === 0) {
      raw = varint();
    } else {
      const len = wire === 1 ? 8 : wire === 5 ? 4 : wire === 2 ? Number(varint()) : -1;
      if (len < 0) throw new Error(`unsupported wire type ${wire} in ${type}`);
      if (pos + len > buf.length) throw new Error(`truncated field ${field} in ${type}`);
      raw = buf.subarray(pos, pos + len);
      pos += len;
    }
    const spec = fields[field];
    if (spec === undefined) continue; // unknown field: skipped, as protobuf does
    const [name, kind, repeated] = spec;
    const value = convert(kind, raw);
    if (repeated) (out[name] ??= []).push(value);
    else out[name] = value;
  }
  return out;
}

function convert(kind, raw) {
  const view = () => new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (kind) {
    case 'string': return Buffer.from(raw).toString('utf8');
    case 'hex': return Buffer.from(raw).toString('hex');
    case 'base64': return Buffer.from(raw).toString('base64');
    case 'uint': return Number(raw);
    case 'bool': return raw !== 0n;
    case 'int64': return BigInt.asIntN(64, raw).toString();
    case 'fixed64': return view().getBigUint64(0, true).toString();
    case 'fixed32': return view().getUint32(0, true);
    case 'double': return view().getFloat64(0, true);
    default: return decodeProto(raw, kind);
  }
}

// Fill what proto3 leaves out, so JSON- and protobuf-borne spans compare equal.
function normalizeSpan(span) {
  const s = { attributes: [], droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, kind: 0, flags: 0, ...span };
  if (!s.parentSpanId) delete s.parentSpanId;
  if (!s.traceState) delete s.traceState;
  s.status = { code: 0, ...s.status };
  s.events = s.events.map((e) => ({ attributes: [], droppedAttributesCount: 0, ...e }));
  s.links = s.links.map((l) => ({ attributes: [], droppedAttributesCount: 0, flags: 0, ...l }));
  return s;
}

function anyValueToJs(v = {}) {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(anyValueToJs);
  if ('kvlistValue' in v) return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, anyValueToJs(kv.value)]));
  if ('bytesValue' in v) return v.bytesValue;
  return null;
}

/** An OTLP attribute list (or anything with .attributes) as a plain { key: value } object. */
export function attrs(spanOrList) {
  const list = Array.isArray(spanOrList) ? spanOrList : (spanOrList?.attributes ?? []);
  return Object.fromEntries(list.map((kv) => [kv.key, anyValueToJs(kv.value)]));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function describeSpan(s) {
  return `${JSON.stringify(s.name)} kind=${s.kind} trace=${s.traceId} span=${s.spanId} parent=${s.parentSpanId ?? '-'}`;
}

export async function startReceiver() {
  const received = [];
  const zipkin = [];
  const requests = [];
  let failure; // { status, headers, body } while respondWith() asks for a failure

  const server = createServer(async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim();
    const record = { method: req.method, path, headers: req.headers, contentType };
    requests.push(record);
    try {
      let body = await readBody(req);
      if (req.method !== 'POST' || (path !== '/v1/traces' && path !== '/api/v2/spans')) {
        res.writeHead(404).end();
        return;
      }
      if (failure !== undefined) {
        res.writeHead(failure.status, failure.headers).end(failure.body);
        return;
      }
      if (/gzip/i.test(String(req.headers['content-encoding'] ?? ''))) body = gunzipSync(body);
      if (path === '/api/v2/spans') {
        zipkin.push(...JSON.parse(body.toString('utf8')));
        res.writeHead(202).end();
        return;
      }
      const message = contentType === 'application/x-protobuf' ? decodeProto(body) : JSON.parse(body.toString('utf8'));
      for (const rs of message.resourceSpans ?? []) {
        const resource = attrs(rs.resource?.attributes ?? []);
        for (const ss of rs.scopeSpans ?? []) {
          const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version };
          for (const span of ss.spans ?? []) received.push({ ...normalizeSpan(span), resource, scope });
        }
      }
      const proto = contentType === 'application/x-protobuf';
      res.writeHead(200, { 'content-type': proto ? 'application/x-protobuf' : 'application/json' }).end(proto ? '' : '{}');
    } catch (err) {
      record.error = String(err);
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();

  const waitFor = async (what, list, want, timeoutMs) => {
    const done = typeof want === 'function' ? () => want(list()) : () => list().length >= want;
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) {
        const got = list().map((s) => `  ${what === 'spans' ? describeSpan(s) : JSON.stringify(s.name)}`).join('\n');
        const reqs = requests.map((r) => `  ${r.method} ${r.path} ${r.contentType}${r.error ? ` (${r.error})` : ''}`).join('\n');
        const goal = typeof want === 'function' ? 'the predicate to hold' : `${want} ${what}`;
        throw new Error(
          `receiver: waited ${timeoutMs}ms for ${goal}; ${list().length} arrived:\n${got || '  (none)'}\nrequests:\n${reqs || '  (none)'}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return list();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    spans: () => received.slice(),
    /** Spans whose resource has this service.name. */
    spansOf: (service) => received.filter((s) => s.resource['service.name'] === service),
    /** Env for a fixture exporting here fast, as `service`, with no metrics endpoint. */
    exportEnv: (service) => ({
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_METRICS_EXPORTER: 'none',
    }),
    zipkinSpans: () => zipkin.slice(),
    /** Resolves with all spans once `count` have arrived or `predicate(allSpans)` is truthy. */
    waitForSpans: (countOrPredicate, timeoutMs = 10_000) => waitFor('spans', () => received.slice(), countOrPredicate, timeoutMs),
    waitForZipkinSpans: (countOrPredicate, timeoutMs = 10_000) => waitFor('zipkin spans', () => zipkin.slice(), countOrPredicate, timeoutMs),
    /** Answer later requests with this status (and headers, body); a 2xx status restores normal service. */
    respondWith(status, headers = {}, body = '') {
      failure = status >= 200 && status < 300 ? undefined : { status, headers, body };
    },
    clear() {
      received.length = 0;
      zipkin.length = 0;
      requests.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
