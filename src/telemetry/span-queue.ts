// Where ended spans wait for their batch. The batch processor owns the bounds, the timing and the
// retries; the queue only decides the form a batch takes: the span objects themselves
// (ArrayQueue, for the exporters that format at export time) or bytes encoded as each span ends
// (ProtoSpanQueue in exporters/otlp-proto.ts).
import type { FinishedSpan } from './types.js';

export interface SpanBatch<B> {
  /** How many spans the batch holds. */
  readonly count: number;
  readonly data: B;
}

export interface SpanQueue<B> {
  /** Spans waiting. */
  readonly length: number;
  /** May throw (a span that cannot be encoded); the queue is then as it was. */
  push(span: FinishedSpan): void;
  /** Removes and returns up to `max` of the oldest spans. */
  take(max: number): SpanBatch<B>;
  /**
   * The collector accepted `batch` and nothing refers to its data any more: the queue may write
   * a later batch into the same memory.
   */
  recycle?(batch: SpanBatch<B>): void;
}

export class ArrayQueue implements SpanQueue<readonly FinishedSpan[]> {
  private spans: FinishedSpan[] = [];

  get length(): number {
    return this.spans.length;
  }

  push(span: FinishedSpan): void {
    this.spans.push(span);
  }

  take(max: number): SpanBatch<readonly FinishedSpan[]> {
    const data = max >= this.spans.length ? this.spans : this.spans.splice(0, max);
    if (data === this.spans) this.spans = [];
    return { count: data.length, data };
  }
}
