// Losing nothing at exit without changing how the process exits.
// - beforeExit (the loop ran dry): an asynchronous flush, bounded.
// - SIGTERM/SIGINT with no handler of the app's: flush (bounded), then re-raise the signal so the
//   process dies by it, with the status it would have had. With the app's own handler: start a
//   flush and step aside; the app decides when to exit (and should `await shutdown()`).
// - a crash (uncaughtException, or an unhandled rejection that ends the process): observed
//   through 'uncaughtExceptionMonitor', which never changes Node's crash output or exit code;
//   the exception goes on the active span and the queue leaves synchronously, bounded.
// - process.exit(): the same synchronous bounded flush from 'exit'.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { isMainThread } from 'node:worker_threads';
import { activeContext } from './telemetry/context.js';
import { RecordingSpan } from './telemetry/span.js';
import { errorType } from './semconv/http.js';
import { reportInternal } from './instrumentations/report.js';

export interface Flushable {
  pending(): number;
  flush(timeoutMs: number): Promise<void>;
  flushSync(timeoutMs: number): void;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function installLifecycle(target: Flushable, timeoutMs: number): () => void {
  let flushing: Promise<void> | undefined;
  const flushOnce = (): Promise<void> => {
    flushing ??= target.flush(timeoutMs).finally(() => {
      flushing = undefined;
    });
    return flushing;
  };

  const onBeforeExit = (): void => {
    // beforeExit fires again after our flush empties the loop; only flush when there is work.
    if (flushing === undefined && target.pending() > 0) void flushOnce();
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (process.listenerCount(signal) > 1) {
      void flushOnce();
      return;
    }
    void flushOnce().then(() => {
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    });
  };

  const onCrash = (err: unknown): void => {
    try {
      // Only when the crash will really end the process: an app with its own
      // uncaughtException handler keeps running and must not pay for a blocking flush.
      if (process.listenerCount('uncaughtException') > 0) return;
      const span = trace.getSpan(activeContext());
      if (span instanceof RecordingSpan && !span.ended) {
        span.recordException(err as Error);
        span.setAttribute('error.type', errorType(err));
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
      target.flushSync(timeoutMs);
    } catch (e) {
      reportInternal('crash flush', e);
    }
  };

  const onExit = (): void => {
    try {
      if (target.pending() > 0) target.flushSync(timeoutMs);
    } catch (e) {
      reportInternal('exit flush', e);
    }
  };

  process.on('beforeExit', onBeforeExit);
  process.on('uncaughtExceptionMonitor', onCrash);
  process.on('exit', onExit);
  // Signals are delivered to the main thread only.
  if (isMainThread) for (const s of SIGNALS) process.on(s, onSignal);

  return () => {
    process.removeListener('beforeExit', onBeforeExit);
    process.removeListener('uncaughtExceptionMonitor', onCrash);
    process.removeListener('exit', onExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
}
