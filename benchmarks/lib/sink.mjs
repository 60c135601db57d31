// The trace sink, run as its own process (pinned beside the load, off the server's core). It
// accepts what the tracers send and counts it, nothing more:
//   POST /v1/traces                 OTLP/HTTP protobuf or JSON, gzip or not: counts Span messages
//   PUT|POST /v0.4|v0.5/traces      dd-trace's agent API: counts X-Datadog-Trace-Count
//   GET /take                       {"spans","traces","requests"} since the last /take, then zero
// Any other path (dd-trace's /info, telemetry…) is answered 200 {} and ignored.
// The harness calls startSink(); the process it starts runs this file with the argument `serve`.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { start } from './procs.mjs';

export async function startSink({ cpu }) {
  const proc = start('sink', process.execPath, [fileURLToPath(import.meta.url), 'serve'], { cpu });
  const url = `http://127.0.0.1:${(await proc.waitFor(/listening (\d+)/))[1]}`;
  return {
    url,
    /** What arrived since the previous take: { spans, traces, requests }. */
    async take() {
      const res = await fetch(`${url}/take`, { signal: AbortSignal.timeout(5000) });
      return res.json();
    },
    stop: () => proc.stop(1000),
  };
}

// Calls fn(start, end) for each length-delimited field `want` between start and end; skips the rest.
function eachField(buf, start, end, want, fn) {
  let pos = start;
  const varint = () => {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos++];
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
  };
  while (pos < end) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint();
      if ((tag >>> 3) === want) fn(pos, pos + len);
      pos += len;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

// ExportTraceServiceRequest.resource_spans(1) → ResourceSpans.scope_spans(2) → ScopeSpans.spans(2)
function countProtobufSpans(buf) {
  let spans = 0;
  eachField(buf, 0, buf.length, 1, (rs, rsEnd) =>
    eachField(buf, rs, rsEnd, 2, (ss, ssEnd) => eachField(buf, ss, ssEnd, 2, () => spans++)),
  );
  return spans;
}

function countJsonSpans(text) {
  let spans = 0;
  for (const rs of JSON.parse(text).resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) spans += ss.spans?.length ?? 0;
  }
  return spans;
}

function serve() {
  let counts = { spans: 0, traces: 0, requests: 0 };

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/take') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
        counts = { spans: 0, traces: 0, requests: 0 };
        return;
      }
      counts.requests++;
      try {
        if (path === '/v1/traces') {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          const json = String(req.headers['content-type']).includes('json');
          counts.spans += json ? countJsonSpans(body.toString('utf8')) : countProtobufSpans(body);
          res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
          return res.end(json ? '{}' : undefined);
        }
        if (/^\/v0\.[45]\/traces$/.test(path)) counts.traces += Number(req.headers['x-datadog-trace-count'] ?? 0);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (err) {
        process.stderr.write(`sink: cannot read ${path}: ${err.message}\n`);
        res.writeHead(400).end();
      }
    });
  });

  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
}

if (process.argv[2] === 'serve') serve();
