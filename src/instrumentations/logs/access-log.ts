// The access log (opt-in, PERISCOPE_ACCESS_LOG=stdout|stderr|<file>): one JSON line per finished
// server request, written by finish() in http-server.ts, the one place a server span ends, so the
// line, the span and the duration metric agree on status and timing. The format is flat JSON, one
// object per line, which Promtail/Loki (`| json`) and Filebeat/Logstash (`json` codec) read as is.
// When the access log is off, `accessLog` is undefined and the request path pays one comparison.
import { openSync } from 'node:fs';
import type { Span } from '@opentelemetry/api';
import { RecordingSpan } from '../../telemetry/span.js';
import { flagsHex } from './correlation.js';
import { LineWriter } from './destination.js';
import { warnOnce } from '../../diag.js';
import { W } from '../../warnings.js';

/** What the access log needs from a request when it starts (the exchange keeps it, not the request). */
export interface AccessStart {
  readonly path: string;
  readonly client: string | undefined;
}

/** The parts of a server exchange the access log reads. */
export interface AccessExchange {
  readonly span: Span;
  readonly method: string;
  readonly route: string | undefined;
  readonly startTime: number;
  readonly access: AccessStart | undefined;
}

export interface AccessEntry {
  /** Epoch ms the response finished. */
  readonly time: number;
  readonly method: string;
  readonly route: string | undefined;
  readonly path: string | undefined;
  /** Undefined when the client went away before a status was sent. */
  readonly status: number | undefined;
  readonly durationMs: number;
  /** Response body bytes as declared by Content-Length; undefined when chunked. */
  readonly bytes: number | undefined;
  readonly client: string | undefined;
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly error: string | undefined;
}

const MAX_PATH = 2048;

/** One line, keys always in this order, `null` for what is unknown; `error` only when there is one. */
export function accessLine(e: AccessEntry): string {
  const line: Record<string, unknown> = {
    time: new Date(e.time).toISOString(),
    method: e.method,
    route: e.route ?? null,
    path: e.path === undefined ? null : e.path.length > MAX_PATH ? e.path.slice(0, MAX_PATH) : e.path,
    status: e.status ?? null,
    duration_ms: Math.round(e.durationMs * 1000) / 1000,
    bytes: e.bytes ?? null,
    client_address: e.client ?? null,
    trace_id: e.traceId,
    span_id: e.spanId,
    trace_flags: flagsHex(e.traceFlags),
  };
  if (e.error !== undefined) line['error'] = e.error;
  return `${JSON.stringify(line)}\n`;
}

/** The client as the span's client.address: the first X-Forwarded-For hop, else the peer. */
export function clientAddress(forwardedFor: string | string[] | undefined, remoteAddress: string | undefined): string | undefined {
  const first = typeof forwardedFor === 'string' ? forwardedFor.split(',')[0]?.trim() : undefined;
  return first || remoteAddress;
}

interface Req {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly socket?: { readonly remoteAddress?: string | undefined } | null;
}

interface Res {
  getHeader(name: string): unknown;
}

function bodyBytes(res: Res | undefined): number | undefined {
  if (res === undefined) return undefined;
  const h = res.getHeader('content-length');
  const n = typeof h === 'number' ? h : typeof h === 'string' ? Number(h) : NaN;
  if (Number.isInteger(n) && n >= 0) return n;
  // res.end(body) without a Content-Length header: Node computes it into this field (every
  // version from 20 to 26) and sends it; chunked responses leave it null.
  const computed = (res as { _contentLength?: unknown })._contentLength;
  return typeof computed === 'number' && computed >= 0 ? computed : undefined;
}

export class AccessLog {
  constructor(private readonly writer: LineWriter) {}

  begin(req: Req, path: string): AccessStart {
    return { path, client: clientAddress(req.headers['x-forwarded-for'], req.socket?.remoteAddress ?? undefined) };
  }

  record(ex: AccessExchange, status: number | undefined, error: string | undefined, res: Res | undefined, end: number): void {
    const sc = ex.span.spanContext();
    const span = ex.span;
    // The span's error.type names a thrown exception better than the status does; a plain 5xx
    // is already in `status`.
    const errorType = span instanceof RecordingSpan ? (span.attributes['error.type'] as string | undefined) ?? error : error;
    this.writer.write(
      accessLine({
        time: end,
        method: ex.method,
        route: ex.route,
        path: ex.access?.path,
        status,
        durationMs: end - ex.startTime,
        bytes: bodyBytes(res),
        client: ex.access?.client,
        traceId: sc.traceId,
        spanId: sc.spanId,
        traceFlags: sc.traceFlags,
        error: errorType === undefined || errorType === String(status) ? undefined : errorType,
      }),
    );
  }
}

/** undefined while the access log is off: the check finish() makes. */
export let accessLog: AccessLog | undefined;

const trouble = (kind: string, message: string): void => warnOnce(W.ACCESS_LOG, kind, `PERISCOPE_ACCESS_LOG: ${message}`);

/** Opens the destination named by PERISCOPE_ACCESS_LOG (`stdout`, `stderr` or a file, appended to). */
export function openAccessLog(target: string | undefined): void {
  if (target === undefined || accessLog !== undefined) return;
  let fd: number;
  const own = target !== 'stdout' && target !== 'stderr';
  try {
    fd = target === 'stdout' ? 1 : target === 'stderr' ? 2 : openSync(target, 'a');
  } catch (err) {
    trouble('open', `cannot open ${JSON.stringify(target)} (${(err as NodeJS.ErrnoException).code ?? String(err)}); no access log`);
    return;
  }
  const writer = new LineWriter(fd, own, trouble);
  accessLog = new AccessLog(writer);
  process.on('exit', () => writer.flushSync());
}
