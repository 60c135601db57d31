// Typed reading of one environment object for config.ts: every parse failure becomes a coded
// warning naming the variable and the value used instead. It reads only the object it is given;
// config.ts hands it process.env.
import { W } from './warnings.js';
import type { ConfigWarning } from './config.js';

export type Env = Readonly<Record<string, string | undefined>>;

export class Reader {
  readonly warnings: ConfigWarning[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === '' ? undefined : t;
  }

  bad(name: string, value: string, used: string, why = ''): void {
    this.warnings.push({
      code: W.BAD_ENV,
      message: `${name}=${JSON.stringify(value)} is not valid${why ? ` (${why})` : ''}; using ${used}`,
    });
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return def;
    const l = v.toLowerCase();
    if (l === 'true' || l === '1') return true;
    if (l === 'false' || l === '0') return false;
    this.bad(name, v, String(def), 'expected true or false');
    return def;
  }

  /** A non-negative integer (or a positive one when min is 1). */
  int(name: string, def: number, min = 0): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      this.bad(name, v, String(def), `expected an integer >= ${min}`);
      return def;
    }
    return n;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], def: T): T {
    const v = this.raw(name);
    if (v === undefined) return def;
    const l = v.toLowerCase() as T;
    if (allowed.includes(l)) return l;
    this.bad(name, v, def, `expected one of ${allowed.join(', ')}`);
    return def;
  }

  list(name: string): string[] | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  /** A list whose members must come from `allowed`; unknown members are dropped with a warning. */
  names<T extends string>(name: string, allowed: readonly T[], def: T[]): T[] {
    const items = this.list(name);
    if (items === undefined) return def;
    const out: T[] = [];
    for (const item of items) {
      const l = item.toLowerCase() as T;
      if (allowed.includes(l)) {
        if (!out.includes(l)) out.push(l);
      } else {
        this.warnings.push({
          code: W.UNKNOWN_NAME,
          message: `${name}: unknown value ${JSON.stringify(item)} ignored (known: ${allowed.join(', ')})`,
        });
      }
    }
    return out;
  }

  /** W3C Baggage-style `key=value,key2=value2` with percent-decoding, as OTEL_RESOURCE_ATTRIBUTES and _HEADERS use. */
  keyValues(name: string): Record<string, string> {
    const v = this.raw(name);
    const out: Record<string, string> = {};
    if (v === undefined) return out;
    for (const part of v.split(',')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      const key = eq > 0 ? part.slice(0, eq).trim() : '';
      if (key === '') {
        this.bad(name, part, 'nothing for that entry', 'expected key=value');
        continue;
      }
      const raw = part.slice(eq + 1).trim();
      try {
        out[key] = decodeURIComponent(raw);
      } catch {
        this.bad(name, part, `${key}=${raw} undecoded`, 'bad percent-encoding');
        out[key] = raw;
      }
    }
    return out;
  }

  /** Strictly increasing positive numbers, e.g. histogram bucket bounds. */
  numbers(name: string, def: readonly number[]): readonly number[] {
    const items = this.list(name);
    if (items === undefined) return def;
    const nums = items.map(Number);
    const ok = nums.length > 0 && nums.every((n, i) => Number.isFinite(n) && n > 0 && (i === 0 || n > (nums[i - 1] as number)));
    if (ok) return nums;
    this.bad(name, items.join(','), def.join(','), 'expected increasing positive numbers');
    return def;
  }

  /** A URL path starting with '/'. */
  path(name: string, def: string): string {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (v.startsWith('/') && !/[\s?#]/.test(v)) return v;
    this.bad(name, v, def, "expected a path starting with '/'");
    return def;
  }

  url(name: string, value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    try {
      const u = new URL(value);
      if (u.protocol === 'http:' || u.protocol === 'https:') return value;
    } catch {
      // fall through to the warning
    }
    this.bad(name, value, 'the default endpoint', 'expected an http(s) URL');
    return undefined;
  }
}
