// One HTTP POST of an export payload, turned into an ExportResult. Never throws, never rejects and
// never leaves an 'error' event unhandled: a collector that is down must not hurt the app.
import type * as https from 'node:https';
import type { ExportResult } from '../types.js';
import { activeContext, runWith } from '../context.js';
import { suppressTracing } from '../suppress.js';
import { https as loadHttps, zlib } from '../../builtins.js';
import { Http1Connections } from './http1.js';

/** An exporter's connections: our own client's for http:, a node:https agent for https:. */
export type Connections = Http1Connections | https.Agent;

export interface PostOptions {
  readonly timeoutMs: number;
  readonly compression: 'gzip' | 'none';
  /** The exporter's own keep-alive connections; shared ones per protocol when omitted. */
  readonly connections?: Connections | undefined;
}

const MAX_ERROR_BODY = 512;
const MAX_TIMER_MS = 2 ** 31 - 1; // larger delays make setTimeout fire after 1ms
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

let sharedHttp: Http1Connections | undefined;
let sharedHttps: https.Agent | undefined;

export function createConnections(url: string): Connections {
  // Idle keep-alive sockets are unref'd by Node itself; busy ones are unref'd in postHttps.
  if (url.startsWith('https:')) return new (loadHttps().Agent)({ keepAlive: true, maxSockets: 4 });
  return new Http1Connections(MAX_ERROR_BODY);
}

function defaultConnections(url: string): Connections {
  if (url.startsWith('https:')) return (sharedHttps ??= createConnections(url) as https.Agent);
  return (sharedHttp ??= new Http1Connections(MAX_ERROR_BODY));
}

export async function postPayload(
  url: string,
  headers: Readonly<Record<string, string>>,
  body: Uint8Array | string,
  options: PostOptions,
): Promise<ExportResult> {
  try {
    let payload: Uint8Array = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const sendHeaders: Record<string, string> = { ...headers };
    if (options.compression === 'gzip') {
      payload = await gzipAsync(payload);
      sendHeaders['Content-Encoding'] = 'gzip';
    }
    sendHeaders['Content-Length'] = String(payload.byteLength);
    // Run with tracing suppressed so periscope's own http/undici instrumentation neither records
    // a span for the export nor injects traceparent into it (an export loop otherwise).
    return await runWith(suppressTracing(activeContext()), send, undefined, [url, sendHeaders, payload, options]);
  } catch (err) {
    return { ok: false, retryable: false, error: `export failed: ${describe(err)}` };
  }
}

function gzipAsync(data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => zlib().gzip(data, (err, out) => (err ? reject(err) : resolve(new Uint8Array(out)))));
}

type Finish = (result: ExportResult) => void;

function send(
  url: string,
  headers: Record<string, string>,
  payload: Uint8Array,
  options: PostOptions,
): Promise<ExportResult> {
  return new Promise((resolve) => {
    let settled = false;
    let abort: (() => void) | undefined;
    const finish: Finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    // One deadline for connect, upload and response together; unref'd so a slow collector
    // never holds the process open.
    const timer = setTimeout(() => {
      finish({ ok: false, retryable: true, error: `export timed out after ${options.timeoutMs}ms` });
      abort?.();
    }, Math.min(options.timeoutMs, MAX_TIMER_MS));
    timer.unref();

    try {
      const connections = options.connections ?? defaultConnections(url);
      abort = connections instanceof Http1Connections ? postHttp1(connections, url, headers, payload, finish) : postHttps(connections, url, headers, payload, finish);
    } catch (err) {
      // Synchronous throws are a bad URL or header value: retrying cannot help.
      finish({ ok: false, retryable: false, error: `export failed: ${describe(err)}` });
    }
  });
}

function postHttp1(connections: Http1Connections, url: string, headers: Record<string, string>, payload: Uint8Array, finish: Finish): () => void {
  return connections.post(url, headers, payload, (err, answer) => {
    if (err !== undefined || answer === undefined) finish({ ok: false, retryable: true, error: `export failed: ${describe(err)}` });
    else finish(classify(answer.status, answer.headers, errorText(answer.headers, [answer.body])));
  });
}

function postHttps(agent: https.Agent, url: string, headers: Record<string, string>, payload: Uint8Array, finish: Finish): () => void {
  const req = loadHttps().request(url, { method: 'POST', headers, agent });
  req.on('socket', (socket) => socket.unref());
  req.on('error', (err) => finish({ ok: false, retryable: true, error: `export failed: ${describe(err)}` }));
  req.on('response', (res) => {
    const status = res.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let kept = 0;
    res.on('data', (chunk: Buffer) => {
      // Keep only the start of the body, for the error message; the rest is drained.
      if (kept < MAX_ERROR_BODY) {
        chunks.push(chunk);
        kept += chunk.length;
      }
    });
    res.on('error', () => finish(classify(status, res.headers, '')));
    res.on('end', () => {
      // As in http1.ts: an answer before the whole request was written closes the connection,
      // so nothing reads the payload (which may be recycled) afterwards.
      if (!req.writableFinished) req.destroy();
      finish(classify(status, res.headers, errorText(res.headers, chunks)));
    });
    res.on('close', () => finish(classify(status, res.headers, '')));
  });
  req.end(payload);
  return () => req.destroy();
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function classify(status: number, headers: Headers, text: string): ExportResult {
  if (status >= 200 && status < 300) return { ok: true, retryable: false };
  const error = `collector answered HTTP ${status}${text ? `: ${text}` : ''}`;
  if (!RETRYABLE_STATUS.has(status)) return { ok: false, retryable: false, error };
  const retryAfter = headers['retry-after'];
  const retryAfterMs = parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined);
  return retryAfterMs === undefined ? { ok: false, retryable: true, error } : { ok: false, retryable: true, retryAfterMs, error };
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 section 10.2.3), in milliseconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function errorText(headers: Headers, chunks: Buffer[]): string {
  // Protobuf error bodies (google.rpc.Status) are binary; only quote text.
  const type = String(headers['content-type'] ?? '');
  if (chunks.length === 0 || !/json|text/i.test(type)) return '';
  const text = Buffer.concat(chunks).toString('utf8', 0, MAX_ERROR_BODY);
  return text.replace(/\s+/g, ' ').trim();
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}
