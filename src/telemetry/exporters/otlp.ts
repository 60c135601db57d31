// The OTLP/HTTP span exporter: encodes a batch as protobuf or JSON and POSTs it to the traces
// endpoint (https://opentelemetry.io/docs/specs/otlp/#otlphttp).
import { gzipSync } from 'node:zlib';
import type { Agent } from 'node:http';
import type { OtlpConfig } from '../../config.js';
import { VERSION } from '../../version.js';
import type { ExportResult, FinishedSpan, SpanExporter } from '../types.js';
import { createAgent, postPayload } from './http-transport.js';
import { encodeOtlpJson } from './otlp-json.js';
import { encodeOtlpProto } from './otlp-proto.js';
import { postPayloadSync } from './sync-send.js';

export class OtlpHttpExporter implements SpanExporter {
  readonly name = 'otlp';
  private readonly agent: Agent;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly encode: (spans: readonly FinishedSpan[]) => Uint8Array | string;

  constructor(private readonly config: OtlpConfig) {
    this.agent = createAgent(config.url);
    const json = config.protocol === 'http/json';
    this.encode = json ? encodeOtlpJson : encodeOtlpProto;
    // The user's headers first so they can add auth, ours last so Content-Type always matches
    // the body we send.
    this.headers = {
      ...config.headers,
      'Content-Type': json ? 'application/json' : 'application/x-protobuf',
      'User-Agent': `periscope-agent/${VERSION}`,
    };
  }

  async export(spans: readonly FinishedSpan[]): Promise<ExportResult> {
    if (spans.length === 0) return { ok: true, retryable: false };
    let body: Uint8Array | string;
    try {
      body = this.encode(spans);
    } catch (err) {
      return { ok: false, retryable: false, error: `could not encode spans: ${String(err)}` };
    }
    return postPayload(this.config.url, this.headers, body, {
      timeoutMs: this.config.timeoutMs,
      compression: this.config.compression,
      agent: this.agent,
    });
  }

  exportSync(spans: readonly FinishedSpan[], timeoutMs: number): void {
    if (spans.length === 0) return;
    try {
      let body: Uint8Array | string = this.encode(spans);
      let headers = this.headers;
      if (this.config.compression === 'gzip') {
        body = gzipSync(body);
        headers = { ...headers, 'Content-Encoding': 'gzip' };
      }
      postPayloadSync(this.config.url, headers, body, Math.min(timeoutMs, this.config.timeoutMs));
    } catch {
      // Dying process: nothing useful left to report to.
    }
  }

  async shutdown(): Promise<void> {
    this.agent.destroy();
  }
}
