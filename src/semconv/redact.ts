// What periscope must not copy into telemetry: secrets in query strings (presigned URLs carry
// their signature there) and in headers. Pure functions; the key sets come from config.
import type { Attributes } from '@opentelemetry/api';

export const REDACTED = 'REDACTED';

/**
 * Replace the values of sensitive keys in a query string (without the '?'). Keys compare
 * case-insensitively; `keys` holds lowercase names. The string is returned unchanged, and
 * nothing is allocated, when no key matches.
 */
export function redactQuery(query: string, keys: ReadonlySet<string>): string {
  if (keys.size === 0 || query === '') return query;
  let out: string | undefined;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    const eq = query.indexOf('=', start);
    if (eq > start && eq < end) {
      let key = query.slice(start, eq);
      if (key.includes('%')) {
        try {
          key = decodeURIComponent(key);
        } catch {
          // keep the raw key
        }
      }
      if (keys.has(key.toLowerCase())) {
        out = (out ?? query.slice(0, start)) + query.slice(start, eq + 1) + REDACTED;
        if (end < query.length) out += '&';
        start = end + 1;
        continue;
      }
    }
    if (out !== undefined) out += query.slice(start, end) + (end < query.length ? '&' : '');
    start = end + 1;
  }
  return out ?? query;
}

/** Redact the query part of a path-with-query or a full URL. */
export function redactUrlQuery(url: string, keys: ReadonlySet<string>): string {
  const q = url.indexOf('?');
  if (q < 0 || keys.size === 0) return url;
  const hash = url.indexOf('#', q);
  const query = hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash);
  const redacted = redactQuery(query, keys);
  return redacted === query ? url : url.slice(0, q + 1) + redacted + (hash < 0 ? '' : url.slice(hash));
}

// Credentials are never recorded, even when a user lists these headers for capture.
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/**
 * `http.request.header.<name>` / `http.response.header.<name>` attributes for the headers a
 * user listed (lowercase names), as string arrays per the semantic conventions.
 */
export function headerAttributes(
  prefix: 'http.request.header.' | 'http.response.header.',
  names: readonly string[],
  get: (name: string) => string | string[] | number | undefined,
  into: Attributes,
): void {
  for (const name of names) {
    const v = get(name);
    if (v === undefined) continue;
    const values = Array.isArray(v) ? v.map(String) : [String(v)];
    into[prefix + name] = SECRET_HEADERS.has(name) ? values.map(() => REDACTED) : values;
  }
}
