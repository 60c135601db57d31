// The trace context a log record carries, under the keys the OpenTelemetry log-correlation
// convention names (trace_id, span_id, trace_flags), so Loki, ELK and Grafana's derived fields
// find them without per-app configuration.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { activeContext } from '../../telemetry/context.js';

export interface LogIds {
  trace_id: string;
  span_id: string;
  /** The W3C trace flags as two hex digits: `01` sampled, `03` sampled with the random bit. */
  trace_flags: string;
}

/** The ids of the active span, or undefined outside a span (or inside an invalid one). */
export function activeLogIds(): LogIds | undefined {
  const sc = trace.getSpanContext(activeContext());
  if (sc === undefined || !isSpanContextValid(sc)) return undefined;
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: flagsHex(sc.traceFlags) };
}

/** The allocation-free test: is a valid span active? */
export function inSpan(): boolean {
  const sc = trace.getSpanContext(activeContext());
  return sc !== undefined && isSpanContextValid(sc);
}

export function flagsHex(flags: number): string {
  const f = flags & 0xff;
  return f < 16 ? `0${f.toString(16)}` : f.toString(16);
}

/**
 * True when the record already carries any correlation key: the app correlated it itself (its
 * own mixin, a field it passed), and periscope leaves such a record exactly as the app made it.
 */
export function hasLogIds(record: unknown): boolean {
  if (record === null || typeof record !== 'object') return false;
  const r = record as Record<string, unknown>;
  return r['trace_id'] !== undefined || r['span_id'] !== undefined || r['trace_flags'] !== undefined;
}

/** Add the active span's ids to a record the logger built, unless it has its own. Never throws. */
export function addLogIds(record: unknown): void {
  if (record === null || typeof record !== 'object') return;
  const ids = activeLogIds();
  if (ids === undefined || hasLogIds(record)) return;
  try {
    const r = record as Record<string, unknown>;
    r['trace_id'] = ids.trace_id;
    r['span_id'] = ids.span_id;
    r['trace_flags'] = ids.trace_flags;
  } catch {
    // A frozen record: the logger itself will refuse it; we add nothing.
  }
}
