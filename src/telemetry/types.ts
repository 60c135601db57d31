// Internal data shapes shared by the tracer, the batch processor and the exporters.
// None of these are part of the public API.
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { SpanQueue } from './span-queue.js';
import type { SpanIdWords } from './ids.js';

export type { Attributes, AttributeValue };

/** Resource attributes, built once at start-up and shared by every span. */
export interface Resource {
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

export interface InstrumentationScope {
  readonly name: string;
  readonly version: string | undefined;
}

export interface SpanEventData {
  readonly name: string;
  /** Epoch milliseconds with sub-millisecond precision. */
  readonly time: number;
  readonly attributes: Attributes;
  readonly droppedAttributesCount: number;
}

export interface SpanLinkData {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string | undefined;
  readonly traceFlags: number;
  readonly attributes: Attributes;
  readonly droppedAttributesCount: number;
}

/** What an exporter receives: a span that has ended. Times are epoch milliseconds (float, microsecond precision). */
export interface FinishedSpan {
  readonly name: string;
  /** SpanKind from @opentelemetry/api: INTERNAL 0, SERVER 1, CLIENT 2, PRODUCER 3, CONSUMER 4. */
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  /** True when the parent came from another process (extracted from headers). */
  readonly parentIsRemote: boolean;
  /** Serialized W3C tracestate, or undefined. */
  readonly traceState: string | undefined;
  readonly traceFlags: number;
  readonly startTime: number;
  readonly endTime: number;
  readonly attributes: Attributes;
  readonly droppedAttributesCount: number;
  readonly events: readonly SpanEventData[];
  readonly droppedEventsCount: number;
  readonly links: readonly SpanLinkData[];
  readonly droppedLinksCount: number;
  /** SpanStatusCode: UNSET 0, OK 1, ERROR 2. */
  readonly status: { readonly code: number; readonly message?: string | undefined };
  readonly scope: InstrumentationScope;
  readonly resource: Resource;
  /** The same ids as words, when the span was recorded here: what the protobuf encoder writes. */
  readonly idWords?: SpanIdWords | undefined;
}

/** Outcome of one export attempt, as the batch processor needs it. */
export interface ExportResult {
  readonly ok: boolean;
  /** True when the same batch may succeed later (network error, 429, 502, 503, 504). */
  readonly retryable: boolean;
  /** Server-requested delay (Retry-After), in milliseconds. */
  readonly retryAfterMs?: number | undefined;
  readonly error?: string | undefined;
}

/**
 * B is the form a batch takes: the spans themselves unless the exporter brings its own queue
 * (OTLP/protobuf encodes each span as it ends, so its batches are bytes).
 */
export interface SpanExporter<B = readonly FinishedSpan[]> {
  readonly name: string;
  /** The queue its batches come from; without one, an ArrayQueue of the spans. */
  createQueue?(): SpanQueue<B>;
  /** Never rejects: failures come back as a result. */
  export(batch: B): Promise<ExportResult>;
  /**
   * Blocking export used only when the process is about to die (crash, process.exit) and no
   * asynchronous work can run any more: the batch still unconfirmed, then what was queued. Bounded
   * by timeoutMs; never throws.
   */
  exportSync(batches: readonly B[], timeoutMs: number): void;
  shutdown(): Promise<void>;
}
