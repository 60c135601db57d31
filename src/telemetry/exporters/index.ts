// OTEL_TRACES_EXPORTER names → exporters. Each gets its own batch processor (see start.ts), so a
// slow collector never holds back the console, and vice versa.
import type { PeriscopeConfig } from '../../config.js';
import type { SpanExporter } from '../types.js';
import { ConsoleExporter } from './console.js';
import { OtlpHttpExporter } from './otlp.js';
import { ZipkinExporter } from './zipkin.js';

export function createExporters(config: PeriscopeConfig): SpanExporter<unknown>[] {
  return config.tracesExporters.map((name) => {
    switch (name) {
      case 'otlp':
        return new OtlpHttpExporter(config.otlp);
      case 'zipkin':
        return new ZipkinExporter(config.zipkin);
      case 'console':
        return new ConsoleExporter();
      case 'none':
        throw new Error('unreachable: none is removed by config');
    }
  });
}
