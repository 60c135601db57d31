// A human-readable span dump for local debugging (OTEL_TRACES_EXPORTER=console): one tree per
// trace, children indented under their parent. Written to stderr, never stdout, because stdout
// often carries the app's own output (CLI results, JSON logs piped elsewhere).
import { writeSync } from 'node:fs';
import type { ExportResult, FinishedSpan, SpanExporter } from '../types.js';

const KINDS = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUS = ['UNSET', 'OK', 'ERROR'];
const KEY_ATTRIBUTES = [
  'http.request.method',
  'url.full',
  'url.path',
  'http.route',
  'http.response.status_code',
  'error.type',
] as const;

function byStart(a: FinishedSpan, b: FinishedSpan): number {
  return a.startTime - b.startTime || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}

function spanLine(span: FinishedSpan, depth: number): string {
  const parts = [
    `${'  '.repeat(depth + 1)}${span.name}`,
    KINDS[span.kind] ?? String(span.kind),
    `${(span.endTime - span.startTime).toFixed(2)}ms`,
    STATUS[span.status.code] ?? String(span.status.code),
  ];
  if (span.status.message) parts.push(JSON.stringify(span.status.message));
  for (const key of KEY_ATTRIBUTES) {
    const v = span.attributes[key];
    // url.full already contains the path; print one of the two.
    if (key === 'url.path' && span.attributes['url.full'] !== undefined) continue;
    if (v !== undefined && v !== null) parts.push(`${key}=${Array.isArray(v) ? JSON.stringify(v) : String(v)}`);
  }
  parts.push(`span=${span.spanId}`);
  return parts.join('  ');
}

/** The text for one batch: traces in order of their first span, spans depth-first by start time. */
export function formatSpans(spans: readonly FinishedSpan[]): string {
  const traces = new Map<string, FinishedSpan[]>();
  for (const span of [...spans].sort(byStart)) {
    const list = traces.get(span.traceId);
    if (list === undefined) traces.set(span.traceId, [span]);
    else list.push(span);
  }
  const lines: string[] = [];
  for (const [traceId, list] of traces) {
    lines.push(`trace ${traceId.slice(0, 8)} (${traceId})`);
    const ids = new Set(list.map((s) => s.spanId));
    const children = new Map<string, FinishedSpan[]>();
    const roots: FinishedSpan[] = [];
    for (const span of list) {
      // A span whose parent is in another batch (or another process) starts its own subtree.
      if (span.parentSpanId === undefined || !ids.has(span.parentSpanId) || span.parentSpanId === span.spanId) {
        roots.push(span);
        continue;
      }
      const siblings = children.get(span.parentSpanId);
      if (siblings === undefined) children.set(span.parentSpanId, [span]);
      else siblings.push(span);
    }
    const printed = new Set<string>();
    const visit = (span: FinishedSpan, depth: number): void => {
      if (printed.has(span.spanId)) return; // guards against a malformed parent cycle
      printed.add(span.spanId);
      lines.push(spanLine(span, depth));
      for (const child of children.get(span.spanId) ?? []) visit(child, depth + 1);
    };
    for (const root of roots) visit(root, 0);
    // Spans caught in a parent cycle have no root above them: still show them.
    for (const span of list) if (!printed.has(span.spanId)) visit(span, 0);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function writeStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // stderr closed, or EAGAIN on a non-blocking pipe: a debug dump is not worth more.
  }
}

export class ConsoleExporter implements SpanExporter {
  readonly name = 'console';

  /** `write` is replaceable for tests; the agent always uses stderr. */
  constructor(private readonly write: (text: string) => void = writeStderr) {}

  async export(spans: readonly FinishedSpan[]): Promise<ExportResult> {
    this.exportSync([spans]);
    return { ok: true, retryable: false };
  }

  exportSync(batches: readonly (readonly FinishedSpan[])[]): void {
    try {
      const text = formatSpans(batches.flat());
      // One write per batch, so lines from another writer never land inside a trace.
      if (text !== '') this.write(text);
    } catch {
      // Never let a debug printer break the app.
    }
  }

  async shutdown(): Promise<void> {}
}
