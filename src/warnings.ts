// The ledger of periscope's coded messages. A code is never reused for another meaning:
// retire it with a comment instead. docs/configuration.md lists them for users.
export const W = {
  /** An environment variable has a value periscope cannot use; the default is used instead. */
  BAD_ENV: 'PERISCOPE_W001',
  /** OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not offered; http/protobuf is used. */
  GRPC_UNSUPPORTED: 'PERISCOPE_W002',
  /** Another tracer provider or APM agent is already registered; periscope stays off. */
  OTHER_AGENT: 'PERISCOPE_W003',
  /** periscope failed to start; the app runs uninstrumented. */
  START_FAILED: 'PERISCOPE_W004',
  /** An internal error was caught inside an instrumentation; the app is unaffected. */
  INTERNAL_ERROR: 'PERISCOPE_W005',
  /** Spans could not be exported (collector unreachable or refusing). Reported once per outage. */
  EXPORT_FAILED: 'PERISCOPE_W006',
  /** The span queue is full; spans are being dropped. Reported once per episode. */
  QUEUE_FULL: 'PERISCOPE_W007',
  /** An unknown exporter, propagator or instrumentation name in a list was ignored. */
  UNKNOWN_NAME: 'PERISCOPE_W008',
  /** The metrics port is in use or cannot be opened; no endpoint in this process. */
  METRICS_PORT: 'PERISCOPE_W009',
  /** PERISCOPE_ACCESS_LOG cannot be opened or written, or is not keeping up; lines are dropped. */
  ACCESS_LOG: 'PERISCOPE_W010',
  /** The entry script is a bundle with a framework inlined, out of the module hooks' reach. */
  BUNDLED_FRAMEWORK: 'PERISCOPE_W011',
} as const;

export type WarningCode = (typeof W)[keyof typeof W];
