// What the framework instrumentations share: the version gate (a version we do not support is
// left alone, with one debug line), the rule for which handler errors reach the server span, and
// the record of which frameworks the module hooks have reached (read by bundle-check.ts).
import { debug } from '../../diag.js';
import { recordServerError } from '../http-server.js';
import { reportInternal } from '../../report.js';

const seen = new Set<string>();
const noted = new Set<string>();

/** The module hooks reached this package (supported or not): it is not inlined in a bundle. */
export function markSeen(pkg: string): void {
  seen.add(pkg);
}

export function wasSeen(pkg: string): boolean {
  return seen.has(pkg);
}

/** True when the major of `version` is one of `majors`; otherwise one debug line per version. */
export function supported(pkg: string, version: string | undefined, majors: readonly number[]): boolean {
  seen.add(pkg);
  const major = version === undefined ? NaN : Number.parseInt(version, 10);
  if (majors.includes(major)) return true;
  const key = `${pkg}@${version}`;
  if (!noted.has(key)) {
    noted.add(key);
    debug(`${pkg} ${version ?? '(version unknown)'} is outside what periscope instruments (${majors.map((m) => `${m}.x`).join(', ')}); left alone`);
  }
  return false;
}

// An error that carries a 4xx status (http-errors, a Nest HttpException, a body parser's 400) is
// the framework answering the client, not a server failure: the span stays as the status says.
function isClientError(err: object): boolean {
  const e = err as { status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

const lastError = new WeakMap<object, unknown>();

/**
 * A handler's exception, as the framework's error handling received it, for the request's server
 * span: an exception event and error.type. The same error object is recorded once per request,
 * however many layers it passes through.
 */
export function noteHandlerError(req: unknown, err: unknown): void {
  try {
    if (req === null || typeof req !== 'object' || err === undefined || err === null) return;
    if (typeof err === 'object' && isClientError(err)) return;
    if (lastError.get(req) === err) return;
    lastError.set(req, err);
    recordServerError(req, err);
  } catch (e) {
    reportInternal('framework error hand-off', e);
  }
}
