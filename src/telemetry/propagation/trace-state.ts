// The W3C `tracestate` list: vendor key=value pairs that ride along with traceparent.
// https://www.w3.org/TR/trace-context-2/#tracestate-header
//
// Everything a TraceState holds has passed the spec's grammar, either in parseTraceState() or in
// set(), so serialize() can be copied into an outgoing header without another check.
import type { TraceState as ApiTraceState } from '@opentelemetry/api';

const MAX_MEMBERS = 32;

// simple-key       = lcalpha 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
// multi-tenant-key = tenant-id "@" system-id
// tenant-id        = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
// system-id        = lcalpha 0*13( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
// Level 2 relaxes this slightly (a key may start with a digit, '@' anywhere); we keep the Level 1
// rules, whose keys every Level 2 receiver also accepts.
const KEY = /^(?:[a-z][a-z0-9_*/-]{0,255}|[a-z0-9][a-z0-9_*/-]{0,240}@[a-z][a-z0-9_*/-]{0,13})$/;

// value    = 0*255(chr) nblk-chr
// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E     (printable ASCII without space, ',' and '=')
// chr      = %x20 / nblk-chr
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

const EMPTY: ReadonlyMap<string, string> = new Map();

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

export function isValidTraceStateKey(key: string): boolean {
  return KEY.test(key);
}

export function isValidTraceStateValue(value: string): boolean {
  return VALUE.test(value);
}

export class TraceState implements ApiTraceState {
  // Newest entry first, which is also the order on the wire.
  #entries: ReadonlyMap<string, string> = EMPTY;
  #header: string | undefined;

  static #of(entries: ReadonlyMap<string, string>): TraceState {
    const state = new TraceState();
    state.#entries = entries;
    return state;
  }

  /** undefined when the header is absent, holds no members, or breaks the grammar anywhere. */
  static parse(header: string | string[] | undefined): TraceState | undefined {
    if (header === undefined) return undefined;
    // Several tracestate headers are one list, in order (RFC 9110 field combination).
    const raw = typeof header === 'string' ? header : Array.isArray(header) ? header.join(',') : undefined;
    if (raw === undefined || raw.length === 0) return undefined;

    let entries: Map<string, string> | undefined;
    let start = 0;
    while (start <= raw.length) {
      let end = raw.indexOf(',', start);
      if (end === -1) end = raw.length;
      let a = start;
      let b = end;
      while (a < b && isOws(raw.charCodeAt(a))) a++;
      while (b > a && isOws(raw.charCodeAt(b - 1))) b--;
      // Empty members are allowed: they appear when an empty header is combined with others.
      if (a < b) {
        entries ??= new Map();
        // Any bad member poisons the whole list: the spec says discard it, never repair it.
        if (entries.size === MAX_MEMBERS) return undefined;
        const eq = raw.indexOf('=', a);
        if (eq === -1 || eq >= b) return undefined;
        const key = raw.slice(a, eq);
        const value = raw.slice(eq + 1, b);
        if (!KEY.test(key) || !VALUE.test(value) || entries.has(key)) return undefined;
        entries.set(key, value);
      }
      start = end + 1;
    }
    return entries === undefined ? undefined : TraceState.#of(entries);
  }

  /** An invalid key or value leaves the state as it was (returns this); never throws. */
  set(key: string, value: string): TraceState {
    if (typeof key !== 'string' || typeof value !== 'string') return this;
    if (!KEY.test(key) || !VALUE.test(value)) return this;
    const next = new Map<string, string>([[key, value]]);
    for (const [k, v] of this.#entries) {
      // A full list loses its oldest (rightmost) member, as the spec asks.
      if (next.size === MAX_MEMBERS) break;
      if (k !== key) next.set(k, v);
    }
    return TraceState.#of(next);
  }

  unset(key: string): TraceState {
    if (!this.#entries.has(key)) return this;
    const next = new Map(this.#entries);
    next.delete(key);
    return TraceState.#of(next);
  }

  get(key: string): string | undefined {
    return this.#entries.get(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  serialize(): string {
    if (this.#header === undefined) {
      let out = '';
      for (const [k, v] of this.#entries) out += out === '' ? `${k}=${v}` : `,${k}=${v}`;
      this.#header = out;
    }
    return this.#header;
  }
}

export function parseTraceState(header: string | string[] | undefined): TraceState | undefined {
  return TraceState.parse(header);
}
