// The HTTP metrics of the stable semantic conventions, named as the OTel→Prometheus
// compatibility rules say (dots → underscores, unit suffix `_seconds`/`_bytes`). Recorded from
// the instrumentations' finish(), the single point where a span ends, with the same status.
import type { SpanIdWords } from '../telemetry/ids.js';
import { Histogram, UpDownGauge, type GaugeSeries, type HistogramSeries } from './instruments.js';
import type { Family } from './types.js';

/** What a finished server exchange tells the metrics. */
export interface ServerMetricSource {
  readonly method: string;
  readonly scheme: string;
  readonly protocolVersion: string;
  route: string | undefined;
  status: number | undefined;
  errorType: string | undefined;
}

export interface ClientMetricSource {
  readonly method: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  status: number | undefined;
  errorType: string | undefined;
}

const SIZE_BUCKETS = [0, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

function serverLabels(s: ServerMetricSource): Record<string, string> {
  const labels: Record<string, string> = { http_request_method: s.method };
  if (s.status !== undefined) labels.http_response_status_code = String(s.status);
  if (s.route !== undefined) labels.http_route = s.route;
  labels.url_scheme = s.scheme;
  labels.network_protocol_version = s.protocolVersion;
  if (s.errorType !== undefined) labels.error_type = s.errorType;
  return labels;
}

function serverKey(s: ServerMetricSource): string {
  return `${s.method}\0${s.status ?? ''}\0${s.route ?? ''}\0${s.scheme}\0${s.protocolVersion}\0${s.errorType ?? ''}`;
}

function activeLabels(s: ServerMetricSource): Record<string, string> {
  return { http_request_method: s.method, url_scheme: s.scheme };
}

function clientLabels(c: ClientMetricSource): Record<string, string> {
  const labels: Record<string, string> = {
    http_request_method: c.method,
    server_address: c.serverAddress,
    server_port: String(c.serverPort),
  };
  if (c.status !== undefined) labels.http_response_status_code = String(c.status);
  if (c.errorType !== undefined) labels.error_type = c.errorType;
  return labels;
}

export class HttpMetrics {
  readonly serverDuration: Histogram;
  readonly serverActive: UpDownGauge;
  readonly serverRequestSize: Histogram;
  readonly serverResponseSize: Histogram;
  readonly clientDuration: Histogram;

  constructor(buckets: readonly number[], maxSeries: number) {
    this.serverDuration = new Histogram('http_server_request_duration_seconds', 'Duration of HTTP server requests.', buckets, maxSeries);
    this.serverActive = new UpDownGauge('http_server_active_requests', 'Number of active HTTP server requests.', maxSeries);
    this.serverRequestSize = new Histogram('http_server_request_body_size_bytes', 'Size of HTTP server request bodies (when Content-Length is known).', SIZE_BUCKETS, maxSeries);
    this.serverResponseSize = new Histogram('http_server_response_body_size_bytes', 'Size of HTTP server response bodies (when Content-Length is known).', SIZE_BUCKETS, maxSeries);
    this.clientDuration = new Histogram('http_client_request_duration_seconds', 'Duration of HTTP client requests.', buckets, maxSeries);
  }

  // The label set of the last request, and its series. Consecutive requests almost always share
  // one, and comparing a few strings is cheaper than joining them into a key and hashing it for
  // three maps. A series is never removed, so a remembered one stays valid.
  private activeMethod = '';
  private activeScheme = '';
  private active: GaugeSeries | undefined;
  private last: ServerMetricSource = { method: '', scheme: '', protocolVersion: '', route: undefined, status: undefined, errorType: undefined };
  private lastClient: ClientMetricSource = { method: '', serverAddress: '', serverPort: 0, status: undefined, errorType: undefined };
  private lastClientDuration: HistogramSeries | undefined;
  private lastKey = '';
  private lastDuration: HistogramSeries | undefined;
  private lastRequestSize: HistogramSeries | undefined;
  private lastResponseSize: HistogramSeries | undefined;

  private activeSeries(s: ServerMetricSource): GaugeSeries {
    if (this.active === undefined || s.method !== this.activeMethod || s.scheme !== this.activeScheme) {
      this.active = this.serverActive.seriesFor(`${s.method}\0${s.scheme}`, activeLabels, s);
      this.activeMethod = s.method;
      this.activeScheme = s.scheme;
    }
    return this.active;
  }

  serverStarted(s: ServerMetricSource): void {
    this.serverActive.addTo(this.activeSeries(s), 1);
  }

  /**
   * `exemplar`, a sampled span's ids, only for sampled spans: it becomes the bucket's exemplar,
   * stamped `endMs` (the span's end), which spares a Date.now() a request.
   */
  serverFinished(s: ServerMetricSource, seconds: number, reqBytes: number, resBytes: number, exemplar?: SpanIdWords, endMs?: number): void {
    this.serverActive.addTo(this.activeSeries(s), -1);
    const l = this.last;
    if (
      this.lastDuration === undefined ||
      s.status !== l.status ||
      s.route !== l.route ||
      s.method !== l.method ||
      s.errorType !== l.errorType ||
      s.protocolVersion !== l.protocolVersion ||
      s.scheme !== l.scheme
    ) {
      this.lastKey = serverKey(s);
      this.lastDuration = this.serverDuration.seriesFor(this.lastKey, serverLabels, s);
      // The size series only once a size is known: an empty series would be exposed as one.
      this.lastRequestSize = undefined;
      this.lastResponseSize = undefined;
      this.last = { method: s.method, scheme: s.scheme, protocolVersion: s.protocolVersion, route: s.route, status: s.status, errorType: s.errorType };
    }
    this.serverDuration.record(this.lastDuration, seconds, exemplar, endMs);
    if (reqBytes >= 0) this.serverRequestSize.record((this.lastRequestSize ??= this.serverRequestSize.seriesFor(this.lastKey, serverLabels, s)), reqBytes);
    if (resBytes >= 0) this.serverResponseSize.record((this.lastResponseSize ??= this.serverResponseSize.seriesFor(this.lastKey, serverLabels, s)), resBytes);
  }

  clientFinished(c: ClientMetricSource, seconds: number, exemplar?: SpanIdWords, endMs?: number): void {
    const l = this.lastClient;
    if (
      this.lastClientDuration === undefined ||
      c.status !== l.status ||
      c.serverPort !== l.serverPort ||
      c.serverAddress !== l.serverAddress ||
      c.method !== l.method ||
      c.errorType !== l.errorType
    ) {
      const key = `${c.method}\0${c.serverAddress}\0${c.serverPort}\0${c.status ?? ''}\0${c.errorType ?? ''}`;
      this.lastClientDuration = this.clientDuration.seriesFor(key, clientLabels, c);
      this.lastClient = { method: c.method, serverAddress: c.serverAddress, serverPort: c.serverPort, status: c.status, errorType: c.errorType };
    }
    this.clientDuration.record(this.lastClientDuration, seconds, exemplar, endMs);
  }

  collect(): Family[] {
    return [
      this.serverDuration.collect(),
      this.serverActive.collect(),
      this.serverRequestSize.collect(),
      this.serverResponseSize.collect(),
      this.clientDuration.collect(),
    ];
  }

  /** Per metric: observations folded into the overflow series by the cardinality cap. */
  overflows(): [string, number][] {
    return [this.serverDuration, this.serverActive, this.serverRequestSize, this.serverResponseSize, this.clientDuration].map(
      (m) => [m.name, m.cap.overflowed],
    );
  }
}
