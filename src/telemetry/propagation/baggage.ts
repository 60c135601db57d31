// W3C Baggage: application key/value pairs carried in the `baggage` header.
// https://www.w3.org/TR/baggage/
//
// A bad list member is skipped on its own (unlike tracestate, the spec does not ask us to drop the
// whole header), and what we send is always inside the spec's limits and grammar.
import {
  baggageEntryMetadataFromString,
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  type BaggageEntry,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '../suppress.js';

const BAGGAGE = 'baggage';
const FIELDS: readonly string[] = [BAGGAGE];

// The limits every platform must be able to pass on; we never send more. Extract stops at the
// same member count so a hostile header cannot make us build a huge Baggage.
const MAX_MEMBERS = 64;
const MAX_BYTES = 8192;

// key = token (RFC 7230 tchar)
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// value = *baggage-octet: printable ASCII except space, DQUOTE, ',', ';' and '\'
const VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
// property = key OWS "=" OWS value / key, with OWS around each ';'
const PROPERTY = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*=[ \t]*[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*)?$/;

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isOws(s.charCodeAt(a))) a++;
  while (b > a && isOws(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

// Returns the properties normalised (trimmed, empty ones dropped), '' for none, undefined when
// one of them breaks the grammar.
function normaliseProperties(raw: string): string | undefined {
  let out = '';
  for (const part of raw.split(';')) {
    const property = trimOws(part);
    if (property === '') continue;
    if (!PROPERTY.test(property)) return undefined;
    out += out === '' ? property : `;${property}`;
  }
  return out;
}

function decodeValue(raw: string): string | undefined {
  if (!VALUE.test(raw)) return undefined;
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    // A malformed escape ("%zz", a cut-off UTF-8 sequence) spoils only this member.
    return undefined;
  }
}

function parseMember(member: string): [string, BaggageEntry] | undefined {
  const semi = member.indexOf(';');
  const pair = semi === -1 ? member : member.slice(0, semi);
  const eq = pair.indexOf('=');
  if (eq === -1) return undefined;
  const key = trimOws(pair.slice(0, eq));
  if (!TOKEN.test(key)) return undefined;
  const value = decodeValue(trimOws(pair.slice(eq + 1)));
  if (value === undefined) return undefined;
  if (semi === -1) return [key, { value }];
  const properties = normaliseProperties(member.slice(semi + 1));
  if (properties === undefined) return undefined;
  return properties === ''
    ? [key, { value }]
    : [key, { value, metadata: baggageEntryMetadataFromString(properties) }];
}

function encodeMember(key: string, entry: BaggageEntry): string | undefined {
  if (!TOKEN.test(key)) return undefined;
  let member: string;
  try {
    member = `${key}=${encodeURIComponent(entry.value)}`;
  } catch {
    // encodeURIComponent throws on a lone UTF-16 surrogate.
    return undefined;
  }
  const metadata = entry.metadata?.toString();
  if (typeof metadata === 'string' && metadata !== '') {
    // Metadata set by the app has not been checked; drop it rather than send a broken header.
    const properties = normaliseProperties(metadata);
    if (properties) member += `;${properties}`;
  }
  return member;
}

export class W3CBaggagePropagator implements TextMapPropagator {
  inject(context: Context, carrier: unknown, setter: TextMapSetter = defaultTextMapSetter): void {
    try {
      const baggage = propagation.getBaggage(context);
      if (baggage === undefined || isTracingSuppressed(context)) return;
      let header = '';
      let members = 0;
      for (const [key, entry] of baggage.getAllEntries()) {
        if (members === MAX_MEMBERS) break;
        const member = encodeMember(key, entry);
        if (member === undefined) continue;
        // Whole members only: one that would cross the byte limit is left out, a later smaller
        // one may still fit. Encoded members are ASCII, so length is the byte count.
        const added = members === 0 ? member.length : member.length + 1;
        if (header.length + added > MAX_BYTES) continue;
        header += members === 0 ? member : `,${member}`;
        members++;
      }
      if (members > 0) setter.set(carrier, BAGGAGE, header);
    } catch {
      // A broken carrier or setter must not break the request being sent.
    }
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter = defaultTextMapGetter): Context {
    try {
      const raw = getter.get(carrier, BAGGAGE);
      if (raw === undefined) return context;
      // Several baggage headers are one list (RFC 9110 field combination).
      const header = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join(',') : '';
      if (header === '') return context;
      // Null prototype: '__proto__' is a valid token and must stay an ordinary key.
      const entries: Record<string, BaggageEntry> = Object.create(null);
      let count = 0;
      for (const part of header.split(',')) {
        const member = trimOws(part);
        if (member === '') continue;
        const parsed = parseMember(member);
        if (parsed === undefined) continue;
        // A repeated key keeps its last value but still counts once.
        if (!(parsed[0] in entries)) {
          if (count === MAX_MEMBERS) break;
          count++;
        }
        entries[parsed[0]] = parsed[1];
      }
      if (count === 0) return context;
      return propagation.setBaggage(context, propagation.createBaggage(entries));
    } catch {
      return context;
    }
  }

  fields(): string[] {
    return [...FIELDS];
  }
}
