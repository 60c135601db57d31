// Zipkin v2 JSON (https://zipkin.io/zipkin-api/#/default/post_spans), following the OpenTelemetry
// to Zipkin mapping (https://opentelemetry.io/docs/specs/otel/trace/sdk_exporters/zipkin/),
// kept lean: resource attributes other than service.name are not copied into every span's tags.
import { isIP } from 'node:net';
import type { PeriscopeConfig } from '../../config.js';
import { VERSION } from '../../version.js';
import type { AttributeValue, Attributes, ExportResult, FinishedSpan, SpanExporter } from '../types.js';
import { createConnections, postPayload, type Connections } from './http-transport.js';
import { postPayloadSync } from './sync-send.js';
import { toMicros } from './otlp-json.js';

// Indexed by api SpanKind; INTERNAL has no Zipkin kind and is left out.
const KINDS = [undefined, 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
const STATUS = ['UNSET', 'OK', 'ERROR'] as const;
const CLIENT = 2;
const PRODUCER = 3;

interface Endpoint {
  serviceName?: string;
  ipv4?: string;
  ipv6?: string;
  port?: number;
}

function tagValue(v: AttributeValue): string {
  return typeof v === 'string' ? v : Array.isArray(v) ? JSON.stringify(v) : String(v);
}

function tags(span: FinishedSpan): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in span.attributes) {
    const v = span.attributes[key];
    if (v !== undefined && v !== null) out[key] = tagValue(v);
  }
  out['otel.scope.name'] = span.scope.name;
  if (span.scope.version !== undefined) out['otel.scope.version'] = span.scope.version;
  if (span.status.code !== 0) out['otel.status_code'] = STATUS[span.status.code] ?? String(span.status.code);
  // Zipkin marks a span failed by the presence of an `error` tag; its value is the description.
  if (span.status.code === 2) out.error = span.status.message ?? '';
  if (span.droppedAttributesCount > 0) out['otel.dropped_attributes_count'] = String(span.droppedAttributesCount);
  if (span.droppedEventsCount > 0) out['otel.dropped_events_count'] = String(span.droppedEventsCount);
  if (span.droppedLinksCount > 0) out['otel.dropped_links_count'] = String(span.droppedLinksCount);
  return out;
}

function str(attrs: Attributes, key: string): string | undefined {
  const v = attrs[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The peer of an outgoing span, from the attributes the spec ranks highest. */
function remoteEndpoint(span: FinishedSpan): Endpoint | undefined {
  if (span.kind !== CLIENT && span.kind !== PRODUCER) return undefined;
  const a = span.attributes;
  const out: Endpoint = {};
  const name = str(a, 'peer.service') ?? str(a, 'server.address');
  if (name !== undefined && isIP(name) === 0) out.serviceName = name;
  const ip = str(a, 'network.peer.address') ?? (name !== undefined && isIP(name) !== 0 ? name : undefined);
  if (ip !== undefined) {
    if (isIP(ip) === 4) out.ipv4 = ip;
    else if (isIP(ip) === 6) out.ipv6 = ip;
  }
  const port = a['server.port'] ?? a['network.peer.port'];
  if (typeof port === 'number' && port > 0) out.port = port;
  return Object.keys(out).length > 0 ? out : undefined;
}

function annotations(span: FinishedSpan): { timestamp: number; value: string }[] {
  return span.events.map((e) => {
    // With attributes, the value is {"<name>": {attributes}} as JSON, so nothing is lost.
    const value = Object.keys(e.attributes).length === 0 ? e.name : JSON.stringify({ [e.name]: e.attributes });
    return { timestamp: toMicros(e.time), value };
  });
}

function zipkinSpan(span: FinishedSpan): Record<string, unknown> {
  const start = toMicros(span.startTime);
  const out: Record<string, unknown> = { traceId: span.traceId, id: span.spanId };
  if (span.parentSpanId) out.parentId = span.parentSpanId;
  out.name = span.name;
  const kind = KINDS[span.kind];
  if (kind !== undefined) out.kind = kind;
  out.timestamp = start;
  // Zipkin reads a missing or zero duration as "unknown", so a sub-microsecond span reports 1.
  out.duration = Math.max(1, toMicros(span.endTime) - start);
  const service = span.resource.attributes['service.name'];
  out.localEndpoint = { serviceName: typeof service === 'string' ? service : 'unknown_service' };
  const remote = remoteEndpoint(span);
  if (remote !== undefined) out.remoteEndpoint = remote;
  if (span.events.length > 0) out.annotations = annotations(span);
  out.tags = tags(span);
  return out;
}

export function encodeZipkin(spans: readonly FinishedSpan[]): string {
  return JSON.stringify(spans.map(zipkinSpan));
}

export class ZipkinExporter implements SpanExporter {
  readonly name = 'zipkin';
  private readonly connections: Connections;
  private readonly headers = { 'Content-Type': 'application/json', 'User-Agent': `periscope-agent/${VERSION}` };

  constructor(private readonly config: PeriscopeConfig['zipkin']) {
    this.connections = createConnections(config.url);
  }

  async export(spans: readonly FinishedSpan[]): Promise<ExportResult> {
    if (spans.length === 0) return { ok: true, retryable: false };
    let body: string;
    try {
      body = encodeZipkin(spans);
    } catch (err) {
      return { ok: false, retryable: false, error: `could not encode spans: ${String(err)}` };
    }
    return postPayload(this.config.url, this.headers, body, {
      timeoutMs: this.config.timeoutMs,
      compression: 'none',
      connections: this.connections,
    });
  }

  exportSync(batches: readonly (readonly FinishedSpan[])[], timeoutMs: number): void {
    const spans = batches.flat();
    if (spans.length === 0) return;
    try {
      postPayloadSync(this.config.url, this.headers, encodeZipkin(spans), Math.min(timeoutMs, this.config.timeoutMs));
    } catch {
      // Dying process: nothing useful left to report to.
    }
  }

  async shutdown(): Promise<void> {
    this.connections.destroy();
  }
}
