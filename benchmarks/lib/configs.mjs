// The configurations every benchmark compares, on the same Node binary: bare, periscope with
// export off, and periscope exporting everything to the sink. One definition for run.mjs,
// profile.mjs and ab.mjs, and the in-process steps between them for hotpath.mjs and instructions.mjs.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigSpec } from './cli.mjs';

const PERISCOPE_ENV = { OTEL_EXPORTER_PROMETHEUS_PORT: '0', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1', OTEL_LOG_LEVEL: 'debug' };

/** `register`: the preload file to load (dist/register.js, or another build for an A/B). */
export function periscopeConfigs(sinkUrl, register) {
  return [
    { name: 'bare', label: 'bare', args: [], env: {} },
    {
      name: 'off',
      label: 'periscope, export off',
      periscope: true,
      args: ['--import', register],
      env: { ...PERISCOPE_ENV, OTEL_TRACES_EXPORTER: 'none' },
      metricsUrl: 'debug-line',
    },
    {
      name: 'full',
      label: 'periscope, full',
      periscope: true,
      args: ['--import', register],
      env: {
        ...PERISCOPE_ENV,
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_TRACES_SAMPLER: 'always_on',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
      },
      metricsUrl: 'debug-line',
      scrape: true,
      expectSpans: true,
    },
  ];
}

/**
 * bare plus `us` microseconds of pure CPU a request (burn.cjs): a known cost, to see what the
 * harness makes of one on the network (ab.mjs's `burn`, `burn:BENCH_BURN_US=1`).
 */
export function controlConfig(us = 3) {
  return {
    name: 'burn',
    label: `bare + ${us} µs of CPU a request`,
    args: ['--require', fileURLToPath(new URL('./burn.cjs', import.meta.url))],
    env: { BENCH_BURN_US: String(us) },
  };
}

/** The in-process benchmarks' steps between export off and full (hotpath.mjs, instructions.mjs). */
export const PRESETS = {
  traced: 'full:OTEL_TRACES_SAMPLER=always_off',
  // One batch far larger than the run, due in ten minutes: the spans wait in the queue, encoded.
  recorded: 'full:OTEL_BSP_SCHEDULE_DELAY=600000;OTEL_BSP_MAX_QUEUE_SIZE=1000000;OTEL_BSP_MAX_EXPORT_BATCH_SIZE=1000000',
};

/**
 * An in-process benchmark's configuration from its spec, `name[:ENV=V;…][@preload file]`, with
 * the environment of its run: `{ base, extra, env }`.
 */
export function inProcessConfig(spec, sinkUrl, register) {
  const [config, file = register] = spec.split('@');
  const { name, env: extra } = parseConfigSpec(PRESETS[config] ?? config);
  const base = periscopeConfigs(sinkUrl, resolve(file)).find((c) => c.name === name);
  if (base === undefined) throw new Error(`unknown configuration ${spec}`);
  const env = { ...process.env, ...base.env, ...extra };
  delete env.OTEL_LOG_LEVEL; // the metrics port's debug line: nothing scrapes here
  // Whatever is still queued at exit is flushed then; a bounded flush keeps `recorded` short.
  env.PERISCOPE_SHUTDOWN_TIMEOUT ??= '1000';
  return { base, extra, env };
}
