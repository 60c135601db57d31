// Attribute hygiene per the OTel spec: only primitives and homogeneous arrays of primitives,
// strings truncated to the value length limit, new keys beyond the count limit dropped and counted.
import type { AttributeValue, Attributes } from '@opentelemetry/api';

function truncate(v: string, limit: number): string {
  return v.length > limit ? v.slice(0, limit) : v;
}

/** A clean copy of the value, or undefined when the value is not a valid attribute value. */
export function sanitizeValue(value: unknown, lengthLimit: number): AttributeValue | undefined {
  switch (typeof value) {
    case 'string':
      return truncate(value, lengthLimit);
    case 'number':
    case 'boolean':
      return value;
    case 'object': {
      if (!Array.isArray(value)) return undefined;
      let type: string | undefined;
      const out: unknown[] = [];
      for (const item of value) {
        if (item === null || item === undefined) {
          out.push(null);
          continue;
        }
        const t = typeof item;
        if (t !== 'string' && t !== 'number' && t !== 'boolean') return undefined;
        if (type === undefined) type = t;
        else if (type !== t) return undefined;
        out.push(t === 'string' ? truncate(item as string, lengthLimit) : item);
      }
      return out as AttributeValue;
    }
    default:
      return undefined;
  }
}

/**
 * Copy `source` into `target` within the limits. Returns how many attributes were dropped
 * because of the count limit.
 */
export function mergeAttributes(target: Attributes, source: Attributes, countLimit: number, lengthLimit: number): number {
  let dropped = 0;
  let count = Object.keys(target).length;
  for (const key in source) {
    const v = sanitizeValue(source[key], lengthLimit);
    if (v === undefined || key === '') continue;
    // hasOwn, not `in`: a key such as 'constructor' is inherited by every object and would slip past the limit.
    if (!Object.hasOwn(target, key)) {
      if (count >= countLimit) {
        dropped++;
        continue;
      }
      count++;
    }
    target[key] = v;
  }
  return dropped;
}
