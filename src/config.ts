// The only place that reads process.env. Every setting has its default in DEFAULTS; a value
// that cannot be used produces one coded warning naming the variable and the value used instead.
import { W, type WarningCode } from './warnings.js';
import { Reader, type Env } from './env-reader.js';
import type { LogLevel } from './diag.js';

export type TracesExporterName = 'otlp' | 'zipkin' | 'console' | 'none';
export type OtlpProtocol = 'http/protobuf' | 'http/json';
export type PropagatorName = 'tracecontext' | 'baggage' | 'b3' | 'b3multi';
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export interface SpanLimits {
  readonly attributeCountLimit: number;
  readonly attributeValueLengthLimit: number;
  readonly eventCountLimit: number;
  readonly linkCountLimit: number;
  readonly attributePerEventCountLimit: number;
  readonly attributePerLinkCountLimit: number;
}

export interface OtlpConfig {
  /** Full URL of the traces endpoint. */
  readonly url: string;
  readonly protocol: OtlpProtocol;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly compression: 'gzip' | 'none';
}

export interface PeriscopeConfig {
  readonly disabled: boolean;
  readonly logLevel: LogLevel;
  readonly serviceName: string | undefined;
  /** Parsed OTEL_RESOURCE_ATTRIBUTES. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** Kubernetes downward-API values found in the environment. */
  readonly k8s: { readonly podName?: string; readonly namespace?: string; readonly nodeName?: string };
  readonly sampler: SamplerName;
  readonly samplerRatio: number;
  readonly propagators: readonly PropagatorName[];
  readonly tracesExporters: readonly TracesExporterName[];
  readonly otlp: OtlpConfig;
  readonly zipkin: { readonly url: string; readonly timeoutMs: number };
  readonly bsp: {
    readonly scheduleDelayMs: number;
    readonly exportTimeoutMs: number;
    readonly maxQueueSize: number;
    readonly maxExportBatchSize: number;
  };
  readonly spanLimits: SpanLimits;
  /** Instrumentation names; `enabled` undefined means "all". */
  readonly instrumentations: { readonly enabled: readonly string[] | undefined; readonly disabled: readonly string[] };
  readonly ignorePaths: readonly string[];
  /** PERISCOPE_ROUTES: route templates for plain node:http servers. */
  readonly routes: readonly string[];
  /** Lowercase query keys whose values are replaced by REDACTED in url.query and url.full. */
  readonly redactQueryParams: ReadonlySet<string>;
  /** Lowercase header names recorded as http.request.header.* / http.response.header.*. */
  readonly captureRequestHeaders: readonly string[];
  readonly captureResponseHeaders: readonly string[];
  readonly metrics: {
    readonly enabled: boolean;
    /** Undefined: every interface, IPv4 and IPv6 (see startMetricsEndpoint). */
    readonly host: string | undefined;
    readonly port: number;
    readonly path: string;
    readonly buckets: readonly number[];
    readonly maxSeries: number;
    /** When set, scrapes must send `Authorization: Bearer <token>`. */
    readonly token: string | undefined;
  };
  readonly workerThreads: boolean;
  /** Log correlation extras; trace ids in pino/winston/bunyan records need no setting. */
  readonly logs: {
    /** PERISCOPE_CONSOLE_CORRELATION: ` trace_id=… span_id=…` after console lines inside a span. */
    readonly consoleCorrelation: boolean;
    /** PERISCOPE_ACCESS_LOG: `stdout`, `stderr` or a file path; undefined when off. */
    readonly accessLog: string | undefined;
  };
  /** Upper bound for the flush at exit, SIGTERM/SIGINT and crash. */
  readonly shutdownTimeoutMs: number;
}

export interface ConfigWarning {
  readonly code: WarningCode;
  readonly message: string;
}

export const INSTRUMENTATION_NAMES = ['http', 'undici', 'pino', 'winston', 'bunyan', 'console', 'express', 'fastify', 'koa', 'nestjs'] as const;

export const DEFAULTS = {
  logLevel: 'warn' as LogLevel,
  sampler: 'parentbased_always_on' as SamplerName,
  samplerRatio: 1,
  propagators: ['tracecontext', 'baggage'] as PropagatorName[],
  tracesExporters: ['otlp'] as TracesExporterName[],
  otlpEndpoint: 'http://localhost:4318',
  otlpProtocol: 'http/protobuf' as OtlpProtocol,
  otlpTimeoutMs: 10_000,
  zipkinEndpoint: 'http://localhost:9411/api/v2/spans',
  bspScheduleDelayMs: 5_000,
  bspExportTimeoutMs: 30_000,
  bspMaxQueueSize: 2_048,
  bspMaxExportBatchSize: 512,
  attributeCountLimit: 128,
  attributeValueLengthLimit: Infinity,
  eventCountLimit: 128,
  linkCountLimit: 128,
  shutdownTimeoutMs: 2_000,
  // Both differ from the OTel spec's defaults (localhost, otlp) on purpose: containers are
  // scraped from outside, and pull is periscope's model. docs/configuration.md says so. No host
  // means every interface, IPv6 ones included (IPv6-only pods), as Node's listen(port) binds.
  metricsExporter: 'prometheus' as 'prometheus' | 'none',
  prometheusHost: undefined as string | undefined,
  prometheusPort: 9464,
  metricsPath: '/metrics',
  httpBuckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
  metricsMaxSeries: 2_000,
  // Query keys that carry credentials in the wild: presigned S3/GCS URLs, OAuth, API keys.
  redactQueryParams: [
    'sig', 'signature', 'x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'x-goog-signature',
    'x-goog-credential', 'awsaccesskeyid', 'token', 'access_token', 'refresh_token', 'id_token', 'code',
    'password', 'passwd', 'secret', 'client_secret', 'api_key', 'apikey', 'key',
  ],
};



function appendPath(base: string, suffix: string): string {
  return base.endsWith('/') ? base + suffix.slice(1) : base + suffix;
}

export function loadConfig(env: Env = process.env): { config: PeriscopeConfig; warnings: ConfigWarning[] } {
  const r = new Reader(env);
  const logLevelRaw = r.raw('OTEL_LOG_LEVEL')?.toLowerCase();
  // The spec's levels include verbose and all; both mean "everything" here.
  const logLevel: LogLevel =
    logLevelRaw === 'verbose' || logLevelRaw === 'all'
      ? 'debug'
      : r.oneOf('OTEL_LOG_LEVEL', ['none', 'error', 'warn', 'info', 'debug'], DEFAULTS.logLevel);

  const sampler = r.oneOf(
    'OTEL_TRACES_SAMPLER',
    ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'],
    DEFAULTS.sampler,
  );
  let samplerRatio = DEFAULTS.samplerRatio;
  const ratioRaw = r.raw('OTEL_TRACES_SAMPLER_ARG');
  if (ratioRaw !== undefined && sampler.endsWith('traceidratio')) {
    const n = Number(ratioRaw);
    if (Number.isFinite(n) && n >= 0 && n <= 1) samplerRatio = n;
    else r.bad('OTEL_TRACES_SAMPLER_ARG', ratioRaw, '1', 'expected a number from 0 to 1');
  }

  const propagatorList = r.list('OTEL_PROPAGATORS');
  const propagators =
    propagatorList !== undefined && propagatorList.length === 1 && propagatorList[0]?.toLowerCase() === 'none'
      ? []
      : r.names('OTEL_PROPAGATORS', ['tracecontext', 'baggage', 'b3', 'b3multi', 'none'], DEFAULTS.propagators).filter(
          (p): p is PropagatorName => p !== 'none',
        );

  let tracesExporters = r.names('OTEL_TRACES_EXPORTER', ['otlp', 'zipkin', 'console', 'none'], DEFAULTS.tracesExporters);
  if (tracesExporters.includes('none')) tracesExporters = [];

  // Warnings name the variable actually read, with the value as the user wrote it.
  const protoName = r.raw('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protoRaw = r.raw(protoName);
  let protocol: OtlpProtocol = DEFAULTS.otlpProtocol;
  if (protoRaw !== undefined) {
    const proto = protoRaw.toLowerCase();
    if (proto === 'http/protobuf' || proto === 'http/json') protocol = proto;
    else if (proto === 'grpc')
      r.warnings.push({
        code: W.GRPC_UNSUPPORTED,
        message: `${protoName}=grpc is not offered by periscope; using http/protobuf (port 4318)`,
      });
    else r.bad(protoName, protoRaw, DEFAULTS.otlpProtocol);
  }

  // Per the OTLP exporter spec: the signal-specific endpoint is used as given, the generic one
  // gets /v1/traces appended.
  const tracesEndpoint = r.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', r.raw('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'));
  const baseEndpoint = r.url('OTEL_EXPORTER_OTLP_ENDPOINT', r.raw('OTEL_EXPORTER_OTLP_ENDPOINT')) ?? DEFAULTS.otlpEndpoint;
  const otlpUrl = tracesEndpoint ?? appendPath(baseEndpoint, '/v1/traces');

  const compressionRaw = r.raw('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION') !== undefined
    ? r.oneOf('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', ['gzip', 'none'], 'none')
    : r.oneOf('OTEL_EXPORTER_OTLP_COMPRESSION', ['gzip', 'none'], 'none');

  const timeoutMs = r.raw('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') !== undefined
    ? r.int('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', DEFAULTS.otlpTimeoutMs, 1)
    : r.int('OTEL_EXPORTER_OTLP_TIMEOUT', DEFAULTS.otlpTimeoutMs, 1);

  const headers = { ...r.keyValues('OTEL_EXPORTER_OTLP_HEADERS'), ...r.keyValues('OTEL_EXPORTER_OTLP_TRACES_HEADERS') };

  const attributeCountLimit = r.int('OTEL_ATTRIBUTE_COUNT_LIMIT', DEFAULTS.attributeCountLimit);
  const attributeValueLengthLimit = r.int('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', DEFAULTS.attributeValueLengthLimit);

  let maxQueueSize = r.int('OTEL_BSP_MAX_QUEUE_SIZE', DEFAULTS.bspMaxQueueSize, 1);
  let maxExportBatchSize = r.int('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', DEFAULTS.bspMaxExportBatchSize, 1);
  if (maxExportBatchSize > maxQueueSize) {
    // Only a batch size the user set (and that was valid) deserves this warning; the default just
    // follows a smaller queue.
    if (Number(r.raw('OTEL_BSP_MAX_EXPORT_BATCH_SIZE')) === maxExportBatchSize)
      r.bad('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', String(maxExportBatchSize), String(maxQueueSize), 'larger than OTEL_BSP_MAX_QUEUE_SIZE');
    maxExportBatchSize = maxQueueSize;
  }

  const enabled = r.names('OTEL_NODE_ENABLED_INSTRUMENTATIONS', INSTRUMENTATION_NAMES, []);
  const config: PeriscopeConfig = {
    disabled: r.bool('OTEL_SDK_DISABLED', false),
    logLevel,
    serviceName: r.raw('OTEL_SERVICE_NAME'),
    resourceAttributes: r.keyValues('OTEL_RESOURCE_ATTRIBUTES'),
    k8s: pick({
      podName: r.raw('K8S_POD_NAME') ?? r.raw('POD_NAME'),
      namespace: r.raw('K8S_NAMESPACE_NAME') ?? r.raw('POD_NAMESPACE') ?? r.raw('K8S_NAMESPACE'),
      nodeName: r.raw('K8S_NODE_NAME') ?? r.raw('NODE_NAME'),
    }),
    sampler,
    samplerRatio,
    propagators,
    tracesExporters,
    otlp: { url: otlpUrl, protocol, headers, timeoutMs, compression: compressionRaw },
    zipkin: {
      url: r.url('OTEL_EXPORTER_ZIPKIN_ENDPOINT', r.raw('OTEL_EXPORTER_ZIPKIN_ENDPOINT')) ?? DEFAULTS.zipkinEndpoint,
      timeoutMs: r.int('OTEL_EXPORTER_ZIPKIN_TIMEOUT', DEFAULTS.otlpTimeoutMs, 1),
    },
    bsp: {
      scheduleDelayMs: r.int('OTEL_BSP_SCHEDULE_DELAY', DEFAULTS.bspScheduleDelayMs),
      exportTimeoutMs: r.int('OTEL_BSP_EXPORT_TIMEOUT', DEFAULTS.bspExportTimeoutMs, 1),
      maxQueueSize,
      maxExportBatchSize,
    },
    spanLimits: {
      attributeCountLimit: r.int('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', attributeCountLimit),
      attributeValueLengthLimit: r.int('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', attributeValueLengthLimit),
      eventCountLimit: r.int('OTEL_SPAN_EVENT_COUNT_LIMIT', DEFAULTS.eventCountLimit),
      linkCountLimit: r.int('OTEL_SPAN_LINK_COUNT_LIMIT', DEFAULTS.linkCountLimit),
      attributePerEventCountLimit: r.int('OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT', attributeCountLimit),
      attributePerLinkCountLimit: r.int('OTEL_LINK_ATTRIBUTE_COUNT_LIMIT', attributeCountLimit),
    },
    instrumentations: {
      enabled: r.raw('OTEL_NODE_ENABLED_INSTRUMENTATIONS') === undefined ? undefined : enabled,
      disabled: r.names('OTEL_NODE_DISABLED_INSTRUMENTATIONS', INSTRUMENTATION_NAMES, []),
    },
    ignorePaths: r.list('PERISCOPE_IGNORE_PATHS') ?? [],
    routes: r.list('PERISCOPE_ROUTES') ?? [],
    redactQueryParams: new Set(
      r.raw('PERISCOPE_REDACT_QUERY_PARAMS')?.toLowerCase() === 'none'
        ? []
        : (r.list('PERISCOPE_REDACT_QUERY_PARAMS') ?? DEFAULTS.redactQueryParams).map((k) => k.toLowerCase()),
    ),
    captureRequestHeaders: (r.list('PERISCOPE_CAPTURE_REQUEST_HEADERS') ?? []).map((h) => h.toLowerCase()),
    captureResponseHeaders: (r.list('PERISCOPE_CAPTURE_RESPONSE_HEADERS') ?? []).map((h) => h.toLowerCase()),
    metrics: {
      enabled: r.oneOf('OTEL_METRICS_EXPORTER', ['prometheus', 'none'], DEFAULTS.metricsExporter) === 'prometheus',
      host: r.raw('OTEL_EXPORTER_PROMETHEUS_HOST') ?? DEFAULTS.prometheusHost,
      port: portOf(r),
      path: r.path('PERISCOPE_METRICS_PATH', DEFAULTS.metricsPath),
      buckets: r.numbers('PERISCOPE_HTTP_BUCKETS', DEFAULTS.httpBuckets),
      maxSeries: r.int('PERISCOPE_METRICS_MAX_SERIES', DEFAULTS.metricsMaxSeries, 1),
      token: r.raw('PERISCOPE_METRICS_TOKEN'),
    },
    workerThreads: r.bool('PERISCOPE_WORKER_THREADS', false),
    logs: { consoleCorrelation: r.bool('PERISCOPE_CONSOLE_CORRELATION', false), accessLog: accessLogOf(r) },
    shutdownTimeoutMs: r.int('PERISCOPE_SHUTDOWN_TIMEOUT', DEFAULTS.shutdownTimeoutMs, 1),
  };
  return { config: deepFreeze(config), warnings: r.warnings };
}

// `stdout` and `stderr` name the streams (`./stdout` is a file); `none`, `off` and `false` turn it off.
function accessLogOf(r: Reader): string | undefined {
  const v = r.raw('PERISCOPE_ACCESS_LOG');
  if (v === undefined) return undefined;
  const l = v.toLowerCase();
  if (l === 'stdout' || l === 'stderr') return l;
  return l === 'none' || l === 'off' || l === 'false' ? undefined : v;
}

function portOf(r: Reader): number {
  const port = r.int('OTEL_EXPORTER_PROMETHEUS_PORT', DEFAULTS.prometheusPort);
  if (port <= 65535) return port;
  r.bad('OTEL_EXPORTER_PROMETHEUS_PORT', String(port), String(DEFAULTS.prometheusPort), 'expected 0 to 65535');
  return DEFAULTS.prometheusPort;
}

function pick<T extends Record<string, string | undefined>>(o: T): { [K in keyof T]?: string } {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: string };
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Is this instrumentation switched on by OTEL_NODE_ENABLED/DISABLED_INSTRUMENTATIONS? */
export function instrumentationEnabled(config: PeriscopeConfig, name: string): boolean {
  const { enabled, disabled } = config.instrumentations;
  if (enabled !== undefined && !enabled.includes(name)) return false;
  return !disabled.includes(name);
}
