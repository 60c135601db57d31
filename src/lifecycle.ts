// Losing nothing at exit without changing how the process exits.
// - beforeExit (the loop ran dry): an asynchronous flush, bounded.
// - SIGTERM/SIGINT with no handler of the app's: flush (bounded), then re-raise the signal so the
//   process dies by it, with the status it would have had. With the app's own handler: start a
//   flush and step aside; the app decides when to exit (and should `await shutdown()`).
// - a crash (uncaughtException, or an unhandled rejection that ends the process): observed
//   through 'uncaughtExceptionMonitor', which never changes Node's crash output or exit code;
//   the exception goes on the active span and the queue leaves synchronously, bounded.
// - process.exit(): the same synchronous bounded flush from 'exit'.
import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { activeContext } from './telemetry/context.js';
import { RecordingSpan } from './telemetry/span.js';
import { errorType } from './semconv/http.js';
import { reportInternal } from './report.js';
import { isMainThread } from './builtins.js';

export interface Flushable {
  pending(): number;
  flush(timeoutMs: number): Promise<void>;
  flushSync(timeoutMs: number): void;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

let thrownFrom: Span | undefined;

/**
 * For an instrumentation whose wrapped callback is throwing synchronously, called from a
 * `finally` (a catch-and-rethrow would move the `file:line` Node prints for the crash into
 * periscope). By the time Node reports the crash the throw has unwound out of the span's
 * context, so this is how the crash monitor finds the span. Node reports an uncaught throw
 * before the microtask queue runs again, so a throw that something else caught leaves nothing.
 */
export function noteThrowFrom(span: Span): void {
  thrownFrom = span;
  queueMicrotask(() => {
    thrownFrom = undefined;
  });
}

export function installLifecycle(target: Flushable, timeoutMs: number): () => void {
  let installed = true;
  let flushing: Promise<void> | undefined;
  // A flush that ran out of time with work left (a collector that accepts and never answers)
  // leaves its export stuck, and any later flush would first wait for that same export: each
  // beforeExit that follows would hold the process for another full bound, until the export
  // itself timed out. So the way out does not wait again until the pending count moves (the
  // export ended, or new spans came).
  let stuckAt = 0;
  const stuck = (): boolean => stuckAt > 0 && target.pending() === stuckAt;
  const settled = (): void => {
    flushing = undefined;
    stuckAt = target.pending();
  };
  const flushOnce = (): Promise<void> => {
    flushing ??= target.flush(timeoutMs).then(settled, settled);
    return flushing;
  };

  const onBeforeExit = (): void => {
    // beforeExit fires again after our flush empties the loop; only flush when there is work.
    if (flushing === undefined && target.pending() > 0 && !stuck()) void flushOnce();
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (process.listenerCount(signal) > 1) {
      // The app's handler runs right after this one. A flush started now would move the queue
      // into an asynchronous export that a process.exit() in that handler cuts off; started on
      // the next turn, the queue is still there for the synchronous flush on 'exit'.
      setImmediate(() => {
        if (installed) void flushOnce();
      });
      return;
    }
    void flushOnce().then(() => {
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    });
  };

  const onCrash = (err: unknown): void => {
    try {
      const span = thrownFrom ?? trace.getSpan(activeContext());
      thrownFrom = undefined;
      // An app with its own uncaughtException handler keeps running: its span stays open and
      // it must not pay for a blocking flush.
      const survives = process.listenerCount('uncaughtException') > 0 || process.hasUncaughtExceptionCaptureCallback();
      if (span instanceof RecordingSpan && !span.ended) {
        span.recordException(err as Error);
        span.setAttribute('error.type', errorType(err));
        span.setStatus({ code: SpanStatusCode.ERROR });
        if (!survives) {
          span.end();
          // The spans it was nested in (the request's server span, the app's own) never end
          // otherwise: they fail with it, the exception event staying where it was thrown.
          for (let parent = span.localParent; parent !== undefined; parent = parent.localParent) {
            if (parent.ended) continue;
            parent.setAttribute('error.type', errorType(err));
            parent.setStatus({ code: SpanStatusCode.ERROR });
            parent.end();
          }
        }
      }
      if (!survives) target.flushSync(timeoutMs);
    } catch (e) {
      reportInternal('crash flush', e);
    }
  };

  const onExit = (): void => {
    try {
      if (target.pending() > 0 && !stuck()) target.flushSync(timeoutMs);
    } catch (e) {
      reportInternal('exit flush', e);
    }
  };

  process.on('beforeExit', onBeforeExit);
  process.on('uncaughtExceptionMonitor', onCrash);
  process.on('exit', onExit);
  // Signals are delivered to the main thread only.
  if (isMainThread()) for (const s of SIGNALS) process.on(s, onSignal);

  return () => {
    installed = false;
    process.removeListener('beforeExit', onBeforeExit);
    process.removeListener('uncaughtExceptionMonitor', onCrash);
    process.removeListener('exit', onExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
}
