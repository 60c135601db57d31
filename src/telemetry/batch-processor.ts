// Ended spans wait in a bounded queue and leave in batches, off the request path. A full queue
// drops (and counts) rather than grows; a failing collector is retried with backoff while the
// queue keeps the memory bound; timers never keep the process alive.
import { W } from '../warnings.js';
import { debug, rearm, warnOnce } from '../diag.js';
import type { SpanSink } from './span.js';
import type { ExportResult, FinishedSpan, SpanExporter } from './types.js';
import { ArrayQueue, type SpanBatch, type SpanQueue } from './span-queue.js';
import { reportInternal } from '../report.js';

export interface BatchOptions {
  readonly scheduleDelayMs: number;
  readonly exportTimeoutMs: number;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
}

export interface ExportStats {
  exported: number;
  /** Dropped because the queue was full. */
  dropped: number;
  /** Dropped after the exporter failed for good (non-retryable, or retries exhausted). */
  failed: number;
  /** Export attempts that failed (each retry counts). */
  exportErrors: number;
}

const MAX_ATTEMPTS = 5;
const BASE_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

export class BatchSpanProcessor<B = readonly FinishedSpan[]> implements SpanSink {
  private readonly queue: SpanQueue<B>;
  private timer: NodeJS.Timeout | undefined;
  /** The delay `timer` was armed with; -1 when none is armed. */
  private timerDelay = -1;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  /** While a flush runs, retries are not waited for: one attempt per batch, within the deadline. */
  private flushing = false;
  /** The batch being exported, until the collector answers: a process dying meanwhile re-sends it. */
  private unconfirmed: SpanBatch<B> | undefined;
  readonly stats: ExportStats = { exported: 0, dropped: 0, failed: 0, exportErrors: 0 };

  constructor(
    readonly exporter: SpanExporter<B>,
    private readonly opts: BatchOptions,
  ) {
    this.queue = exporter.createQueue?.() ?? (new ArrayQueue() as unknown as SpanQueue<B>);
  }

  onEnd(span: FinishedSpan): void {
    if (this.closed) return;
    if (this.queue.length >= this.opts.maxQueueSize) {
      this.stats.dropped++;
      warnOnce(W.QUEUE_FULL, this.exporter.name, `span queue full (${this.opts.maxQueueSize}); dropping spans for ${this.exporter.name} (counted in periscope's metrics)`);
      return;
    }
    try {
      this.queue.push(span);
    } catch (err) {
      this.stats.failed++;
      reportInternal(`${this.exporter.name} queue`, err);
      return;
    }
    if (this.inFlight !== undefined) return;
    // A full batch leaves on the next turn; the spans that end before then must not each re-arm
    // that timer (a Timeout object per span at 50k spans/s).
    if (this.queue.length >= this.opts.maxExportBatchSize) {
      if (this.timerDelay !== 0) this.schedule(0);
    } else if (this.timer === undefined) this.schedule(this.opts.scheduleDelayMs);
  }

  pending(): number {
    return this.queue.length + (this.inFlight ? 1 : 0);
  }

  private schedule(delay: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDelay = delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDelay = -1;
      this.drain();
    }, delay);
    this.timer.unref();
  }

  /** Export batches until the queue is empty. One export at a time, as the spec requires. */
  private drain(): Promise<void> {
    if (this.inFlight !== undefined) return this.inFlight;
    if (this.queue.length === 0) return Promise.resolve();
    this.inFlight = this.exportAll().finally(() => {
      this.inFlight = undefined;
      if (this.queue.length > 0 && !this.closed) this.schedule(this.queue.length >= this.opts.maxExportBatchSize ? 0 : this.opts.scheduleDelayMs);
    });
    return this.inFlight;
  }

  private async exportAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.take(this.opts.maxExportBatchSize);
      this.unconfirmed = batch;
      await this.exportBatch(batch);
      this.unconfirmed = undefined;
      if (!this.flushing && this.queue.length < this.opts.maxExportBatchSize) return;
    }
  }

  private async exportBatch(batch: SpanBatch<B>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.exportOnce(batch);
      if (result.ok) {
        this.stats.exported += batch.count;
        // Confirmed: a crash flush from here on must not send it again, and the queue may reuse its memory.
        if (this.unconfirmed === batch) this.unconfirmed = undefined;
        this.queue.recycle?.(batch);
        rearm(W.EXPORT_FAILED, this.exporter.name);
        return;
      }
      this.stats.exportErrors++;
      warnOnce(
        W.EXPORT_FAILED,
        this.exporter.name,
        `${this.exporter.name} export failed (${result.error ?? 'unknown error'}); retrying, later failures of this outage are counted, not printed`,
      );
      if (!result.retryable || attempt >= MAX_ATTEMPTS || this.flushing || this.closed) {
        this.stats.failed += batch.count;
        debug(`dropped a batch of ${batch.count} spans after ${attempt} attempt(s): ${result.error ?? ''}`);
        return;
      }
      await sleep(backoff(attempt, result.retryAfterMs));
    }
  }

  private exportOnce(batch: SpanBatch<B>): Promise<ExportResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ExportResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, retryable: true, error: 'export timed out' }), this.opts.exportTimeoutMs);
      timer.unref();
    });
    let exported: Promise<ExportResult>;
    try {
      // Our exporters never reject, but a rejection here would surface as an unhandled rejection
      // in the app (the export runs from a timer), so it is turned into a failed result.
      exported = this.exporter.export(batch.data).catch((err: unknown) => ({ ok: false, retryable: false, error: String(err) }));
    } catch (err) {
      exported = Promise.resolve({ ok: false, retryable: false, error: String(err) });
    }
    return Promise.race([exported, timeout]).finally(() => clearTimeout(timer));
  }

  /** Export everything queued now; resolves by the deadline whatever the collector does. */
  async forceFlush(timeoutMs: number): Promise<void> {
    this.flushing = true;
    try {
      await withDeadline(this.flushAll(), timeoutMs);
    } finally {
      this.flushing = false;
    }
  }

  private async flushAll(): Promise<void> {
    if (this.inFlight !== undefined) await this.inFlight;
    await this.drain();
  }

  /** Last resort when no asynchronous work can run any more (crash, process.exit). */
  flushSync(timeoutMs: number): void {
    // An export still waiting for its answer dies with the process, so its batch goes again: a
    // possible duplicate at the collector is better than a lost batch.
    const batches: B[] = [];
    if (this.unconfirmed !== undefined) batches.push(this.unconfirmed.data);
    this.unconfirmed = undefined;
    if (this.queue.length > 0) batches.push(this.queue.take(this.queue.length).data);
    if (batches.length > 0) this.exporter.exportSync(batches, timeoutMs);
  }

  async shutdown(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    await this.forceFlush(timeoutMs);
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await withDeadline(this.exporter.shutdown(), 100);
  }
}

function backoff(attempt: number, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, MAX_BACKOFF_MS);
  const exp = Math.min(BASE_BACKOFF_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
  // Full jitter, so many instances recovering from the same outage do not retry in lockstep.
  return exp / 2 + Math.random() * (exp / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Resolve when p settles or the deadline passes. The deadline timer is ref'd on purpose: a flush in progress keeps the process alive until then. */
export function withDeadline(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Fans ended spans out to every configured exporter's processor. */
export class MultiSink implements SpanSink {
  constructor(readonly processors: readonly BatchSpanProcessor<unknown>[]) {}
  onEnd(span: FinishedSpan): void {
    for (const p of this.processors) p.onEnd(span);
  }
}
