// Ending a CLIENT span is the same for http.request and fetch: status code and error.type on
// the span, ERROR for >= 400 and for connection errors, and the duration metric recorded at
// that same moment with the same status.
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { now } from '../telemetry/clock.js';
import { RecordingSpan } from '../telemetry/span.js';
import { clientStatusIsError } from '../semconv/http.js';
import type { ClientMetricSource, HttpMetrics } from '../metrics/http-metrics.js';

export interface EndableClient extends ClientMetricSource {
  readonly span: Span;
  readonly startTime: number;
}

export function endClientSpan(ex: EndableClient, error: string | undefined, metrics: HttpMetrics | undefined): void {
  const end = now();
  const status = ex.status;
  if (error === undefined && status !== undefined && clientStatusIsError(status)) error = String(status);
  const span = ex.span;
  const recording = span instanceof RecordingSpan;
  if (recording) {
    if (status !== undefined) span.attributes['http.response.status_code'] = status;
    if (error !== undefined) {
      span.attributes['error.type'] = error;
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(end);
  }
  if (metrics !== undefined) {
    ex.errorType = error;
    metrics.clientFinished(ex, (end - ex.startTime) / 1000, recording ? span.idWords : undefined, end);
  }
}
