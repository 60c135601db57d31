// CLIENT spans for http.request/get and https.request/get in all their signatures. The
// propagation headers go into a copy of the caller's options before the original runs (http.get
// sends its headers synchronously, so setHeader afterwards would be too late), replacing any the
// caller set: periscope owns traceparent/tracestate/baggage on outgoing requests.
import http from 'node:http';
import type * as Https from 'node:https';
import { SpanKind, type Context, type Span } from '@opentelemetry/api';
import { activeContext, withSpan } from '../telemetry/context.js';
import { now } from '../telemetry/clock.js';
import { RecordingSpan } from '../telemetry/span.js';
import { isTracingSuppressed } from '../telemetry/suppress.js';
import { clientRequestAttributes, errorType, normalizeMethod, spanName } from '../semconv/http.js';
import type { ClientMetricSource } from '../metrics/http-metrics.js';
import { endClientSpan } from './client-finish.js';
import { headerAttributes } from '../semconv/redact.js';
import { enableEmitHooks, track, type EmitterRecord } from './emit-hooks.js';
import { wrap } from './patch.js';
import { reportInternal } from '../report.js';
import { onHttps } from '../hooks.js';
import { inspectAs } from './slot.js';
import type { AgentServices, Instrumentation } from './types.js';

let services: AgentServices | undefined;

class ClientExchange implements EmitterRecord, ClientMetricSource {
  ended = false;
  status: number | undefined = undefined;
  errorType: string | undefined = undefined;
  constructor(
    /** The caller's context: response callbacks run where the request was made. */
    readonly ctx: Context,
    readonly span: Span,
    readonly method: string,
    readonly serverAddress: string,
    readonly serverPort: number,
    readonly startTime: number,
  ) {}

  [inspectAs](): string {
    return 'periscope client exchange';
  }

  nodeListeners(): number {
    return 0;
  }

  onEvent(emitter: object, event: string | symbol, arg: unknown): void {
    if (this.ended) return;
    if (emitter instanceof http.ClientRequest) {
      if (event === 'response' && arg instanceof http.IncomingMessage) {
        this.status = arg.statusCode;
        track(arg, this);
        const wanted = services?.config.captureResponseHeaders;
        if (wanted !== undefined && wanted.length > 0 && this.span instanceof RecordingSpan) {
          const res = arg;
          headerAttributes('http.response.header.', wanted, (h) => res.headers[h], this.span.attributes);
        }
      } else if (event === 'error') finishClient(this, errorType(arg));
      else if (event === 'close') finishClient(this, this.status === undefined ? 'aborted' : undefined);
    } else if (event === 'end') finishClient(this, undefined);
    else if (event === 'aborted' || event === 'error') finishClient(this, errorType(arg ?? { code: 'aborted' }));
    else if (event === 'close') finishClient(this, undefined);
  }
}

/** The one place a client span ends, and where its duration is recorded. */
function finishClient(ex: ClientExchange, error: string | undefined): void {
  if (ex.ended) return;
  ex.ended = true;
  endClientSpan(ex, error, services?.metrics);
}

type RequestArgs = unknown[];

interface Prepared {
  args: RequestArgs;
  exchange: ClientExchange;
}

// Node's own test for "this object is a URL" (lib/internal/url.js isURL), so we read the
// arguments exactly as http.request will.
function isUrlLike(v: unknown): v is URL {
  const o = v as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown } | null;
  return o != null && Boolean(o.href && o.protocol && o.auth === undefined && o.path === undefined);
}

interface RequestOptionsLike {
  protocol?: string | null;
  hostname?: string | null;
  host?: string | null;
  port?: number | string | null;
  path?: string | null;
  method?: string;
  auth?: string | null;
  headers?: unknown;
  socketPath?: string;
  agent?: { defaultPort?: number } | false;
  defaultPort?: number;
}

function prepare(args: RequestArgs, defaultProtocol: 'http:' | 'https:', parent: Context): Prepared | undefined {
  const s = services;
  if (s === undefined) return undefined;
  const first = args[0];
  let url: URL | undefined;
  let options: RequestOptionsLike | undefined;
  let optionsIndex: number;
  if (typeof first === 'string') url = new URL(first);
  else if (isUrlLike(first)) url = first;
  if (url !== undefined) {
    optionsIndex = 1;
    const second = args[1];
    options = typeof second === 'object' && second !== null ? (second as RequestOptionsLike) : undefined;
  } else {
    optionsIndex = 0;
    options = typeof first === 'object' && first !== null ? (first as RequestOptionsLike) : undefined;
  }
  const headers = options?.headers;
  // Raw header arrays (allowed since Node 18) are passed through untouched: rare, and rewriting
  // them risks changing what the app sends.
  if (headers !== undefined && headers !== null && (typeof headers !== 'object' || Array.isArray(headers))) return undefined;

  const protocol = options?.protocol ?? url?.protocol ?? defaultProtocol;
  const agentPort = options?.agent ? options.agent.defaultPort : undefined;
  const defaultPort = options?.defaultPort ?? agentPort ?? (protocol === 'https:' ? 443 : 80);
  const rawHost = options?.hostname ?? options?.host ?? (url ? url.hostname : undefined) ?? 'localhost';
  const hostname = rawHost.startsWith('[') && rawHost.endsWith(']') ? rawHost.slice(1, -1) : rawHost;
  const port = Number(options?.port ?? (url?.port || undefined) ?? defaultPort) || defaultPort;
  const path = options?.path ?? (url ? url.pathname + url.search : '/');
  const originalMethod = typeof options?.method === 'string' ? options.method.toUpperCase() : 'GET';
  const method = normalizeMethod(originalMethod);
  const startTime = now();
  const span = s.tracer.start(spanName(method, undefined), SpanKind.CLIENT, parent, undefined, startTime);
  if (span instanceof RecordingSpan) {
    span.attributes = clientRequestAttributes(
      { method, protocol, hostname, port, path, hasCredentials: Boolean(options?.auth || url?.username || url?.password) },
      method,
      originalMethod,
      s.config.redactQueryParams,
    );
    const wanted = s.config.captureRequestHeaders;
    if (wanted.length > 0 && headers) {
      const h = headers as Record<string, unknown>;
      const lower = new Map(Object.keys(h).map((k) => [k.toLowerCase(), h[k]]));
      headerAttributes('http.request.header.', wanted, (name) => lower.get(name) as string | string[] | undefined, span.attributes);
    }
  }

  const injected: Record<string, string> = {};
  s.propagator.inject(withSpan(parent, span), injected, headerSetter);
  // The caller's headers are copied, never changed: the app may reuse its options object.
  let merged: Record<string, unknown> = injected;
  if (headers) {
    merged = {};
    for (const key of Object.keys(headers)) {
      if (!Object.hasOwn(injected, key.toLowerCase())) merged[key] = (headers as Record<string, unknown>)[key];
    }
    Object.assign(merged, injected);
  }
  const newArgs = args.slice();
  const slot = args[optionsIndex];
  if (options !== undefined) newArgs[optionsIndex] = { ...options, headers: merged };
  // Where there are no options, ours must leave every other argument where Node looks for it.
  // A callback stays after them. https.request reads only a truthy value as options (Node 20–26
  // lib/https.js) and so drops a callback after (url, undefined, cb) or (null, cb): inserting
  // keeps that. ClientRequest reads any non-function there as options (Object.assign ignores
  // undefined, null and numbers), so for http ours take the slot's place, or (123) would turn
  // 123 into the callback and throw, and (url, undefined, cb) would lose cb.
  else if (typeof slot === 'function' || (defaultProtocol === 'https:' && !slot)) newArgs.splice(optionsIndex, 0, { headers: merged });
  else newArgs[optionsIndex] = { headers: merged };
  return { args: newArgs, exchange: new ClientExchange(parent, span, method, hostname, port, startTime) };
}

const headerSetter = {
  set(carrier: Record<string, string>, key: string, value: string) {
    carrier[key] = value;
  },
};

function clientRequest(defaultProtocol: 'http:' | 'https:') {
  return (original: (...args: unknown[]) => http.ClientRequest) =>
    function request(this: unknown, ...args: unknown[]) {
      const parent = activeContext();
      if (services === undefined || isTracingSuppressed(parent)) return Reflect.apply(original, this, args);
      let prepared: Prepared | undefined;
      try {
        prepared = prepare(args, defaultProtocol, parent);
      } catch (err) {
        // Arguments we cannot read (an invalid URL string…): the original gets them untouched and
        // answers the caller exactly as it would without periscope.
        if (!(err instanceof TypeError)) reportInternal('http client', err);
      }
      if (prepared === undefined) return Reflect.apply(original, this, args);
      let req: http.ClientRequest;
      try {
        req = Reflect.apply(original, this, prepared.args);
      } catch (err) {
        finishClient(prepared.exchange, errorType(err));
        throw err;
      }
      try {
        track(req, prepared.exchange);
      } catch (err) {
        reportInternal('http client', err);
      }
      return req;
    };
}

function patchClient(mod: typeof http | typeof Https, name: string, protocol: 'http:' | 'https:', patched: string[]): void {
  if (wrap(mod, 'request', clientRequest(protocol))) patched.push(`${name}.request`);
  if (wrap(mod, 'get', clientRequest(protocol))) patched.push(`${name}.get`);
}

export const httpClientInstrumentation: Instrumentation = {
  name: 'http',
  enable(s) {
    services = s;
    enableEmitHooks();
    const patched: string[] = [];
    patchClient(http, 'http', 'http:', patched);
    onHttps((https) => patchClient(https, 'https', 'https:', []));
    patched.push('https.request', 'https.get');
    return patched;
  },
};
