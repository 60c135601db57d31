// The OTLP/HTTP span exporter: POSTs a batch to the traces endpoint
// (https://opentelemetry.io/docs/specs/otlp/#otlphttp). A protobuf batch arrives encoded (its
// queue encodes each span as it ends); an http/json batch is encoded here.
import type { OtlpConfig } from '../../config.js';
import { VERSION } from '../../version.js';
import type { ExportResult, FinishedSpan, SpanExporter } from '../types.js';
import { createConnections, postPayload, type Connections } from './http-transport.js';
import { encodeOtlpJson } from './otlp-json.js';
import { ProtoSpanQueue, concatBodies } from './otlp-proto.js';
import { ArrayQueue, type SpanQueue } from '../span-queue.js';
import { postPayloadSync } from './sync-send.js';
import { zlib } from '../../builtins.js';

/** A batch: protobuf bytes, encoded as the spans ended; or, for http/json, the spans. */
type OtlpBatch = Uint8Array | readonly FinishedSpan[];

export class OtlpHttpExporter implements SpanExporter<OtlpBatch> {
  readonly name = 'otlp';
  private readonly connections: Connections;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly json: boolean;

  constructor(private readonly config: OtlpConfig) {
    this.connections = createConnections(config.url);
    const json = config.protocol === 'http/json';
    this.json = json;
    // The user's headers first so they can add auth, ours last so Content-Type always matches
    // the body we send.
    this.headers = {
      ...config.headers,
      'Content-Type': json ? 'application/json' : 'application/x-protobuf',
      'User-Agent': `periscope-agent/${VERSION}`,
    };
  }

  createQueue(): SpanQueue<OtlpBatch> {
    return this.json ? new ArrayQueue() : new ProtoSpanQueue();
  }

  private body(batches: readonly OtlpBatch[]): Uint8Array | string {
    if (this.json) return encodeOtlpJson((batches as readonly (readonly FinishedSpan[])[]).flat());
    return concatBodies(batches as readonly Uint8Array[]);
  }

  async export(batch: OtlpBatch): Promise<ExportResult> {
    if (batch.length === 0) return { ok: true, retryable: false };
    let body: Uint8Array | string;
    try {
      body = this.body([batch]);
    } catch (err) {
      return { ok: false, retryable: false, error: `could not encode spans: ${String(err)}` };
    }
    return postPayload(this.config.url, this.headers, body, {
      timeoutMs: this.config.timeoutMs,
      compression: this.config.compression,
      connections: this.connections,
    });
  }

  exportSync(batches: readonly OtlpBatch[], timeoutMs: number): void {
    if (batches.every((b) => b.length === 0)) return;
    try {
      let body: Uint8Array | string = this.body(batches);
      let headers = this.headers;
      if (this.config.compression === 'gzip') {
        body = zlib().gzipSync(body);
        headers = { ...headers, 'Content-Encoding': 'gzip' };
      }
      postPayloadSync(this.config.url, headers, body, Math.min(timeoutMs, this.config.timeoutMs));
    } catch {
      // Dying process: nothing useful left to report to.
    }
  }

  async shutdown(): Promise<void> {
    this.connections.destroy();
  }
}
