// Pure attribute builders for the stable OTel HTTP semantic conventions (one mode only, no
// dual emission). Request in, attributes out: unit tests call these without sockets.
import type { Attributes } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';
import { redactQuery, redactUrlQuery } from './redact.js';

const NO_KEYS: ReadonlySet<string> = new Set();

// The semconv's default set of known methods; anything else is reported as _OTHER so an
// attacker cannot mint span names or metric labels.
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);

export function normalizeMethod(method: string | undefined): string {
  if (method === undefined) return 'GET';
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

// The last `{method} {route}` made: a framework names every request of a route with the same
// template, so the name is the same string from one request to the next, joined (and flattened by
// the encoder's first read) once instead of per request.
let lastRoute: string | undefined;
let lastRouteMethod = '';
let lastRouteName = '';

/** `{method}` or `{method} {route}`; `HTTP` when the method is unknown. */
export function spanName(method: string, route: string | undefined): string {
  const m = method === '_OTHER' ? 'HTTP' : method;
  if (route === undefined) return m;
  if (route !== lastRoute || m !== lastRouteMethod) {
    lastRoute = route;
    lastRouteMethod = m;
    lastRouteName = `${m} ${route}`;
  }
  return lastRouteName;
}

interface HostAndPort {
  readonly address: string;
  readonly port: number | undefined;
}

// The last Host parsed and what it gave: nearly every request to a server names the same host, so
// the header is compared instead of split again, and the span's server.address is then the same
// string object from one request to the next, which the encoder compares by pointer.
let lastHost = '';
let lastParsed: HostAndPort | undefined;

/** Split `host[:port]`, including bracketed IPv6 literals. The result is shared: do not change it. */
export function parseHostHeader(host: string | undefined): HostAndPort | undefined {
  if (!host) return undefined;
  if (host === lastHost) return lastParsed;
  lastParsed = splitHost(host);
  lastHost = host;
  return lastParsed;
}

function splitHost(host: string): HostAndPort | undefined {
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    if (end < 0) return undefined;
    const port = host.charCodeAt(end + 1) === 58 /* : */ ? toPort(host.slice(end + 2)) : undefined;
    return { address: host.slice(1, end), port };
  }
  const colon = host.indexOf(':');
  if (colon < 0) return { address: host, port: undefined };
  return { address: host.slice(0, colon), port: toPort(host.slice(colon + 1)) };
}

function toPort(s: string): number | undefined {
  // Digits only (RFC 3986 port = *DIGIT): Number() alone would read '0x50', '1e3' and '+80' as
  // ports. A loop, not a regular expression: this runs for every request with a Host port.
  const len = s.length;
  if (len === 0 || len > 5) return undefined;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n > 0 && n < 65536 ? n : undefined;
}

// An absolute-form request target (`GET http://host:8080/x HTTP/1.1`: what clients send to a
// proxy, and what an origin server must accept too, RFC 9112 §3.2.2) starts with a scheme and
// carries the authority itself; only what follows it is the path.
const ABSOLUTE_FORM = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/;

function absoluteForm(target: string): RegExpExecArray | null {
  return target.charCodeAt(0) === 47 /* / */ ? null : ABSOLUTE_FORM.exec(target);
}

/** The path of a request target: what precedes `?`, less the scheme and authority of an absolute-form target. */
export function targetPath(target: string): string {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const abs = absoluteForm(path);
  return abs === null ? path : path.slice(abs[0].length) || '/';
}

export interface ServerRequestInfo {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly httpVersion: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localPort: number | undefined;
}

/** Attributes known when a server request arrives. `method` is the normalized method. */
export function serverRequestAttributes(
  req: ServerRequestInfo,
  method: string,
  scheme: 'http' | 'https',
  redactKeys: ReadonlySet<string> = NO_KEYS,
): Attributes {
  const attrs: Attributes = {
    'http.request.method': method,
    'url.scheme': scheme,
    'network.protocol.version': req.httpVersion,
  };
  if (method === '_OTHER' && req.method !== undefined) attrs['http.request.method_original'] = req.method;
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  attrs['url.path'] = targetPath(target);
  if (q >= 0) attrs['url.query'] = redactQuery(target.slice(q + 1), redactKeys);
  // With an absolute-form target the server ignores Host and uses the target's authority
  // (RFC 9112 §3.2.2), less any userinfo.
  const abs = absoluteForm(target);
  const authority = abs === null ? req.headers.host : abs[1]!.slice(abs[1]!.lastIndexOf('@') + 1);
  const host = parseHostHeader(authority);
  if (host !== undefined) {
    attrs['server.address'] = host.address;
    const port = host.port ?? (authority ? (scheme === 'https' ? 443 : 80) : req.localPort);
    if (port !== undefined) attrs['server.port'] = port;
  }
  const forwarded = req.headers['x-forwarded-for'];
  const client = typeof forwarded === 'string' ? forwarded.split(',')[0]?.trim() : undefined;
  const clientAddress = client || req.remoteAddress;
  if (clientAddress) attrs['client.address'] = clientAddress;
  if (req.remoteAddress) attrs['network.peer.address'] = req.remoteAddress;
  if (req.remotePort !== undefined) attrs['network.peer.port'] = req.remotePort;
  const ua = req.headers['user-agent'];
  if (ua !== undefined) attrs['user_agent.original'] = ua;
  return attrs;
}

/** Server spans: ERROR for 5xx only (4xx is the client's fault, per the semconv). */
export function serverStatusIsError(status: number): boolean {
  return status >= 500;
}

/** Client spans: ERROR for 4xx and 5xx. */
export function clientStatusIsError(status: number): boolean {
  return status >= 400;
}

export interface ClientRequestInfo {
  readonly method: string;
  readonly protocol: string; // 'http:' | 'https:'
  readonly hostname: string;
  readonly port: number;
  readonly path: string;
  readonly hasCredentials: boolean;
}

/** Attributes known when an outgoing request starts. `method` is the normalized method. */
export function clientRequestAttributes(
  info: ClientRequestInfo,
  method: string,
  originalMethod: string,
  redactKeys: ReadonlySet<string> = NO_KEYS,
): Attributes {
  const host = info.hostname.includes(':') ? `[${info.hostname}]` : info.hostname;
  const defaultPort = info.protocol === 'https:' ? 443 : 80;
  const auth = info.hasCredentials ? 'REDACTED:REDACTED@' : '';
  const attrs: Attributes = {
    'http.request.method': method,
    'server.address': info.hostname,
    'server.port': info.port,
    'url.full': `${info.protocol}//${auth}${host}${info.port === defaultPort ? '' : `:${info.port}`}${redactUrlQuery(info.path, redactKeys)}`,
  };
  if (method === '_OTHER') attrs['http.request.method_original'] = originalMethod;
  return attrs;
}

/** A low-cardinality error.type for a failed request: the error's code (ECONNREFUSED…) or its class name. */
export function errorType(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    const e = err as { code?: unknown; name?: unknown };
    if (typeof e.code === 'string' && e.code !== '') return e.code;
    if (typeof e.name === 'string' && e.name !== '') return e.name;
  }
  return '_OTHER';
}
