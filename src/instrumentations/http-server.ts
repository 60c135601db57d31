// SERVER spans for every request of every http.Server and https.Server, frameworks' included.
// A once-only patch of Server.prototype.emit sees each 'request' before any listener, makes the
// span's context active for the handler and everything it triggers, and hands the response to
// finish(), the one place a server span ends.
import http from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Context, type Span } from '@opentelemetry/api';
import { runWith, withSpan } from '../telemetry/context.js';
import { now } from '../telemetry/clock.js';
import { RecordingSpan } from '../telemetry/span.js';
import { errorType, normalizeMethod, serverRequestAttributes, serverStatusIsError, spanName, targetPath } from '../semconv/http.js';
import type { ServerMetricSource } from '../metrics/http-metrics.js';
import { headerAttributes } from '../semconv/redact.js';
import { enableEmitHooks, recordOf, track, type EmitterRecord } from './emit-hooks.js';
import { wrap } from './patch.js';
import { reportInternal } from '../report.js';
import { onHttps } from '../hooks.js';
import { inspectAs } from './slot.js';
import { noteThrowFrom } from '../lifecycle.js';
import { accessLog, openAccessLog, type AccessStart } from './logs/access-log.js';
import type { AgentServices, Instrumentation } from './types.js';

// Events that carry a request: Node emits checkContinue/checkExpectation instead of 'request'
// when the app listens for them; upgrade and connect hand the socket over to the app. Compared,
// not looked up in a Set: event names are internalized strings, so `===` is one pointer
// comparison where Set#has hashed and probed on every emit of every server.
const isRequestEvent = (event: string | symbol): boolean => event === 'request' || event === 'checkContinue' || event === 'checkExpectation';
const isHandoffEvent = (event: string | symbol): boolean => event === 'upgrade' || event === 'connect';

let services: AgentServices | undefined;

class ServerExchange implements EmitterRecord, ServerMetricSource {
  ended = false;
  status: number | undefined = undefined;
  errorType: string | undefined = undefined;
  ctx: Context = ROOT_CONTEXT;
  /** Path and client for the access log; only while it is on. */
  access: AccessStart | undefined = undefined;
  /** Listeners Node attached before the app's handler ran: res 'finish' (resOnFinish) and req 'end' (clearIncoming). */
  resFinishListeners = 0;
  reqEndListeners = 0;
  constructor(
    readonly span: Span,
    readonly method: string,
    readonly scheme: 'http' | 'https',
    readonly protocolVersion: string,
    public route: string | undefined,
    readonly startTime: number,
    /** Content-Length of the request, or -1 when unknown. */
    readonly requestBytes: number,
  ) {}

  [inspectAs](): string {
    return 'periscope server exchange';
  }

  nodeListeners(emitter: object, event: string | symbol): number {
    if (event === 'finish') return emitter instanceof http.ServerResponse ? this.resFinishListeners : 0;
    if (event === 'end') return emitter instanceof http.IncomingMessage ? this.reqEndListeners + clearIncomingListeners(emitter) : 0;
    return 0;
  }

  onEvent(emitter: object, event: string | symbol): void {
    if (this.ended || !(emitter instanceof http.ServerResponse)) return;
    if (event === 'finish') finish(this, emitter.statusCode, undefined, emitter);
    // 'close' before 'finish': the client went away or the response was destroyed midway.
    else if (event === 'close' && !emitter.writableFinished) finish(this, emitter.headersSent ? emitter.statusCode : undefined, 'aborted');
  }
}

// Node adds `req.on('end', clearIncoming)` when the response finishes before the request was read
// to its end, i.e. for almost every GET (resOnFinish in lib/_http_server.js, Node 18–26): after
// the count taken at the start of the exchange. Recognised by name in EventEmitter's `_events`;
// should either ever change, the listener is counted as the app's and runs in the context. Node
// passes the same module-level function every time, so once one is recognised by name it is
// known by identity: reading a function's `name` was most of this check's cost.
let clearIncoming: unknown;
function isClearIncoming(listener: unknown): boolean {
  if (listener === clearIncoming && listener !== undefined) return true;
  if (typeof listener !== 'function' || listener.name !== 'clearIncoming') return false;
  clearIncoming = listener;
  return true;
}

function clearIncomingListeners(req: object): number {
  const listeners = (req as { _events?: Record<string, unknown> })._events?.end;
  if (!Array.isArray(listeners)) return listeners !== undefined && isClearIncoming(listeners) ? 1 : 0;
  let n = 0;
  for (let i = 0; i < listeners.length; i++) if (isClearIncoming(listeners[i])) n++;
  return n;
}

/** The one place a server span ends, and where its duration is recorded, with the same status. */
function finish(ex: ServerExchange, status: number | undefined, error: string | undefined, res?: http.ServerResponse): void {
  if (ex.ended) return;
  ex.ended = true;
  const end = now();
  if (status !== undefined && error === undefined && serverStatusIsError(status)) error = String(status);
  const span = ex.span;
  const recording = span instanceof RecordingSpan;
  if (recording) {
    if (status !== undefined) span.attributes['http.response.status_code'] = status;
    const wanted = services?.config.captureResponseHeaders;
    if (res !== undefined && wanted !== undefined && wanted.length > 0) {
      headerAttributes('http.response.header.', wanted, (h) => res.getHeader(h), span.attributes);
    }
    if (error !== undefined) {
      // A handler exception recorded earlier names the error better than the status does.
      span.attributes['error.type'] ??= error;
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(end);
  }
  const metrics = services?.metrics;
  if (metrics !== undefined) {
    ex.status = status;
    ex.errorType = recording ? (span.attributes['error.type'] as string | undefined) : error;
    metrics.serverFinished(
      ex,
      (end - ex.startTime) / 1000,
      ex.requestBytes,
      res === undefined ? -1 : contentLength(res.getHeader('content-length')),
      recording ? span.idWords : undefined,
      end,
    );
  }
  if (accessLog !== undefined) accessLog.record(ex, status, error, res, end);
}

function contentLength(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : -1;
}

function startExchange(server: object, req: http.IncomingMessage, scheme: 'http' | 'https'): ServerExchange | undefined {
  const s = services;
  if (s === undefined || s.ownServers.has(server)) return undefined;
  const url = req.url ?? '/';
  // The path without the query, nor the scheme and host of an absolute-form target, so ignore
  // paths and routes match `GET http://host/health` as they match `GET /health`.
  const path = targetPath(url);
  if (s.isIgnoredPath(path)) return undefined;
  const startTime = now();
  const method = normalizeMethod(req.method);
  const route = s.routeOf(path);
  // A request starts from what its headers say, never from whatever context the connection
  // happened to be opened in.
  const parent = s.propagator.extract(ROOT_CONTEXT, req.headers, headerGetter);
  const span = s.tracer.start(spanName(method, route), SpanKind.SERVER, parent, undefined, startTime);
  if (span instanceof RecordingSpan) {
    const socket = req.socket;
    span.attributes = serverRequestAttributes(
      {
        method: req.method,
        url,
        httpVersion: req.httpVersion,
        headers: req.headers,
        remoteAddress: socket?.remoteAddress,
        remotePort: socket?.remotePort,
        localPort: socket?.localPort,
      },
      method,
      scheme,
      s.config.redactQueryParams,
    );
    if (route !== undefined) span.attributes['http.route'] = route;
    const wanted = s.config.captureRequestHeaders;
    if (wanted.length > 0) headerAttributes('http.request.header.', wanted, (h) => req.headers[h], span.attributes);
  }
  const ex = new ServerExchange(span, method, scheme, req.httpVersion, route, startTime, contentLength(req.headers['content-length']));
  if (accessLog !== undefined) ex.access = accessLog.begin(req, path);
  ex.ctx = withSpan(parent, span);
  s.metrics?.serverStarted(ex);
  return ex;
}

const headerGetter = {
  get(carrier: http.IncomingHttpHeaders, key: string) {
    return carrier[key];
  },
  keys(carrier: http.IncomingHttpHeaders) {
    return Object.keys(carrier);
  },
};

function serverEmit(scheme: 'http' | 'https') {
  return (original: (...args: unknown[]) => boolean) =>
    function emit(this: object, event: string | symbol, req: unknown) {
      const isRequest = isRequestEvent(event);
      if (!isRequest && !isHandoffEvent(event)) return Reflect.apply(original, this, arguments);
      let ex: ServerExchange | undefined;
      try {
        if (req instanceof http.IncomingMessage) {
          ex = startExchange(this, req, scheme);
          if (ex !== undefined) {
            // The response is reached through res.req (see emit-hooks.ts).
            track(req, ex);
            ex.reqEndListeners = req.listenerCount('end');
            const res = arguments[2];
            if (res instanceof http.ServerResponse) ex.resFinishListeners = res.listenerCount('finish');
          }
        }
      } catch (err) {
        reportInternal('http server', err);
      }
      if (ex === undefined) return Reflect.apply(original, this, arguments);
      // No catch-and-rethrow: a rethrow would make Node's crash report point at this file
      // instead of the app's line. A synchronous throw out of a 'request' listener can only end
      // as an uncaught exception; the crash monitor (lifecycle.ts) records it on this span.
      let threw = true;
      try {
        const result = runWith(ex.ctx, original, this, arguments as unknown as unknown[]);
        threw = false;
        return result;
      } finally {
        if (threw) noteThrowFrom(ex.span);
        // Upgrade/CONNECT: the app now owns the socket; the HTTP exchange is over.
        else if (!isRequest) finish(ex, undefined, undefined);
      }
    };
}

/**
 * For framework instrumentations: the low-cardinality route template a request matched. Names
 * the span `{method} {route}`, sets http.route, and labels the request's metrics. The last call
 * wins (nested routers report the full template last).
 */
export function setServerRoute(req: object, route: string): void {
  const ex = recordOf(req);
  if (!(ex instanceof ServerExchange) || ex.ended) return;
  ex.route = route;
  if (ex.span instanceof RecordingSpan) {
    ex.span.attributes['http.route'] = route;
    ex.span.updateName(spanName(ex.method, route));
  }
}

/** For framework instrumentations: an exception a handler threw (the framework still handles it). */
export function recordServerError(req: object, err: unknown): void {
  const ex = recordOf(req);
  if (!(ex instanceof ServerExchange) || ex.ended || !(ex.span instanceof RecordingSpan)) return;
  ex.span.recordException(err as Error);
  ex.span.attributes['error.type'] = errorType(err);
}

export const httpServerInstrumentation: Instrumentation = {
  name: 'http',
  enable(s) {
    services = s;
    openAccessLog(s.config.logs.accessLog);
    enableEmitHooks();
    const patched: string[] = [];
    if (wrap(http.Server.prototype, 'emit', serverEmit('http'))) patched.push('http.Server');
    onHttps((https) => wrap(https.Server.prototype, 'emit', serverEmit('https')));
    patched.push('https.Server');
    return patched;
  },
};
