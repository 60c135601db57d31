// CLIENT spans for global fetch. Node's bundled undici publishes each request's life on
// diagnostics channels, so nothing is patched: we subscribe, start the span on create (which
// runs synchronously inside the caller's async context), and end it on trailers or error.
import dc from 'node:diagnostics_channel';
import { SpanKind, type Span } from '@opentelemetry/api';
import { activeContext, withSpan } from '../telemetry/context.js';
import { now } from '../telemetry/clock.js';
import { RecordingSpan } from '../telemetry/span.js';
import { isTracingSuppressed } from '../telemetry/suppress.js';
import { clientRequestAttributes, errorType, normalizeMethod, spanName } from '../semconv/http.js';
import type { ClientMetricSource } from '../metrics/http-metrics.js';
import { endClientSpan } from './client-finish.js';
import { reportInternal } from '../report.js';
import { slot } from './slot.js';
import type { AgentServices, Instrumentation } from './types.js';

// The parts of undici's Request we read (stable across the undici 6–7 bundled in Node 20–26).
interface UndiciRequest {
  origin: string;
  method: string;
  path: string;
  headers: string[] | string;
  addHeader(name: string, value: string): void;
}

interface FetchExchange extends ClientMetricSource {
  readonly span: Span;
  readonly startTime: number;
}

let services: AgentServices | undefined;
const exchanges = slot<FetchExchange>('periscope.fetch');

const CHANNELS = {
  create: 'undici:request:create',
  headers: 'undici:request:headers',
  trailers: 'undici:request:trailers',
  error: 'undici:request:error',
} as const;

const setter = {
  set(carrier: Record<string, string>, key: string, value: string) {
    carrier[key] = value;
  },
};

// Remove headers we are about to set, so ours replace the caller's instead of being appended.
// A fetch sends half a dozen headers of its own (accept, user-agent…): a name is lowercased only
// when its length is that of one of ours.
function dropHeaders(request: UndiciRequest, names: Record<string, string>, keys: readonly string[]): void {
  const h = request.headers;
  if (Array.isArray(h)) {
    for (let i = h.length - 2; i >= 0; i -= 2) {
      const name = h[i];
      if (name !== undefined && isOurs(name, names, keys)) h.splice(i, 2);
    }
  } else if (typeof h === 'string') {
    request.headers = h
      .split('\r\n')
      .filter((line) => line === '' || !Object.hasOwn(names, line.slice(0, line.indexOf(':')).trim().toLowerCase()))
      .join('\r\n');
  }
}

function isOurs(name: string, names: Record<string, string>, keys: readonly string[]): boolean {
  for (let k = 0; k < keys.length; k++) {
    if ((keys[k] as string).length === name.length) return Object.hasOwn(names, name.toLowerCase());
  }
  return false;
}

interface Origin {
  readonly protocol: string;
  readonly hostname: string;
  readonly port: number;
}

// An app talks to a handful of origins; parsing each with `new URL` on every fetch cost ~1 µs.
// Bounded: past the cap an origin is parsed each time.
const ORIGINS_MAX = 256;
const origins = new Map<string, Origin>();

function originOf(origin: string): Origin {
  let o = origins.get(origin);
  if (o === undefined) {
    const url = new URL(origin);
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    o = { protocol: url.protocol, hostname, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
    if (origins.size < ORIGINS_MAX) origins.set(origin, o);
  }
  return o;
}

function onCreate(message: unknown): void {
  const s = services;
  if (s === undefined) return;
  try {
    const request = (message as { request: UndiciRequest }).request;
    const parent = activeContext();
    if (isTracingSuppressed(parent)) return;
    const { protocol, hostname, port } = originOf(request.origin);
    const originalMethod = String(request.method).toUpperCase();
    const method = normalizeMethod(originalMethod);
    const startTime = now();
    const span = s.tracer.start(spanName(method, undefined), SpanKind.CLIENT, parent, undefined, startTime);
    if (span instanceof RecordingSpan) {
      span.attributes = clientRequestAttributes(
        { method, protocol, hostname, port, path: request.path, hasCredentials: false },
        method,
        originalMethod,
        s.config.redactQueryParams,
      );
    }
    const injected: Record<string, string> = {};
    s.propagator.inject(withSpan(parent, span), injected, setter);
    const keys = Object.keys(injected);
    dropHeaders(request, injected, keys);
    for (const key of keys) request.addHeader(key, injected[key] as string);
    exchanges.set(request, { span, method, serverAddress: hostname, serverPort: port, startTime, status: undefined, errorType: undefined });
  } catch (err) {
    reportInternal('fetch', err);
  }
}

function onHeaders(message: unknown): void {
  const { request, response } = message as { request: object; response: { statusCode: number } };
  const ex = exchanges.get(request);
  if (ex !== undefined) ex.status = response.statusCode;
}

function onTrailers(message: unknown): void {
  const request = (message as { request: object }).request;
  const ex = exchanges.get(request);
  if (ex !== undefined) finishFetch(request, ex, undefined);
}

function onError(message: unknown): void {
  const { request, error } = message as { request: object; error: unknown };
  const ex = exchanges.get(request);
  if (ex !== undefined) finishFetch(request, ex, errorType(error));
}

/** The one place a fetch span ends, and where its duration is recorded. */
function finishFetch(request: object, ex: FetchExchange, error: string | undefined): void {
  exchanges.clear(request);
  endClientSpan(ex, error, services?.metrics);
}

export const fetchInstrumentation: Instrumentation = {
  name: 'undici',
  enable(s) {
    services = s;
    dc.subscribe(CHANNELS.create, onCreate);
    dc.subscribe(CHANNELS.headers, onHeaders);
    dc.subscribe(CHANNELS.trailers, onTrailers);
    dc.subscribe(CHANNELS.error, onError);
    return ['fetch (undici diagnostics channels)'];
  },
};
