import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, instrumentationEnabled, loadConfig } from '../../dist/src/config.js';

const W001 = 'PERISCOPE_W001';

function load(env) {
  return loadConfig(env);
}

function get(obj, path) {
  return path.split('.').reduce((o, k) => o[k], obj);
}

/** Exactly one warning with this code, whose message names the variable, the bad value and what was used. */
function assertOneWarning(warnings, code, ...parts) {
  assert.equal(warnings.length, 1, `expected one warning, got ${JSON.stringify(warnings)}`);
  assert.equal(warnings[0].code, code);
  for (const p of parts) assert.ok(warnings[0].message.includes(p), `${JSON.stringify(warnings[0].message)} lacks ${p}`);
}

describe('defaults', () => {
  it('gives every default and no warning for an empty environment', () => {
    const { config, warnings } = load({});
    assert.deepEqual(warnings, []);
    assert.deepEqual(config, {
      disabled: false,
      logLevel: 'warn',
      serviceName: undefined,
      resourceAttributes: {},
      k8s: {},
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      propagators: ['tracecontext', 'baggage'],
      tracesExporters: ['otlp'],
      otlp: { url: 'http://localhost:4318/v1/traces', protocol: 'http/protobuf', headers: {}, timeoutMs: 10_000, compression: 'none' },
      zipkin: { url: 'http://localhost:9411/api/v2/spans', timeoutMs: 10_000 },
      bsp: { scheduleDelayMs: 5_000, exportTimeoutMs: 30_000, maxQueueSize: 2_048, maxExportBatchSize: 512 },
      spanLimits: {
        attributeCountLimit: 128,
        attributeValueLengthLimit: Infinity,
        eventCountLimit: 128,
        linkCountLimit: 128,
        attributePerEventCountLimit: 128,
        attributePerLinkCountLimit: 128,
      },
      instrumentations: { enabled: undefined, disabled: [] },
      ignorePaths: [],
      routes: [],
      redactQueryParams: new Set(DEFAULTS.redactQueryParams),
      captureRequestHeaders: [],
      captureResponseHeaders: [],
      metrics: { enabled: true, host: undefined, port: 9464, path: '/metrics', buckets: DEFAULTS.httpBuckets, maxSeries: 2_000, token: undefined },
      workerThreads: false,
      logs: { consoleCorrelation: false, accessLog: undefined },
      shutdownTimeoutMs: 2_000,
    });
  });

  it('treats empty and blank values as unset', () => {
    const { config, warnings } = load({ OTEL_SERVICE_NAME: '  ', OTEL_BSP_MAX_QUEUE_SIZE: '', OTEL_TRACES_SAMPLER: ' ' });
    assert.deepEqual(warnings, []);
    assert.equal(config.serviceName, undefined);
    assert.equal(config.bsp.maxQueueSize, 2_048);
    assert.equal(config.sampler, 'parentbased_always_on');
  });

  it('deep-freezes the config object', () => {
    const { config } = load({ OTEL_RESOURCE_ATTRIBUTES: 'a=b', PERISCOPE_ROUTES: '/x' });
    for (const o of [config, config.otlp, config.otlp.headers, config.bsp, config.spanLimits, config.metrics, config.metrics.buckets,
      config.resourceAttributes, config.propagators, config.routes, config.instrumentations, config.k8s]) {
      assert.ok(Object.isFrozen(o));
    }
    // Test modules are strict, so writing to a frozen object throws.
    assert.throws(() => {
      config.otlp.url = 'x';
    }, TypeError);
  });
});

describe('variables read', () => {
  const cases = [
    [{ OTEL_SDK_DISABLED: 'true' }, 'disabled', true],
    [{ OTEL_SDK_DISABLED: 'TRUE' }, 'disabled', true],
    [{ OTEL_SDK_DISABLED: '0' }, 'disabled', false],
    [{ OTEL_LOG_LEVEL: 'debug' }, 'logLevel', 'debug'],
    [{ OTEL_LOG_LEVEL: 'ERROR' }, 'logLevel', 'error'],
    [{ OTEL_LOG_LEVEL: 'verbose' }, 'logLevel', 'debug'],
    [{ OTEL_LOG_LEVEL: 'all' }, 'logLevel', 'debug'],
    [{ OTEL_SERVICE_NAME: ' checkout ' }, 'serviceName', 'checkout'],
    [{ K8S_POD_NAME: 'pod-1', POD_NAME: 'other' }, 'k8s.podName', 'pod-1'],
    [{ POD_NAME: 'pod-2' }, 'k8s.podName', 'pod-2'],
    [{ K8S_NAMESPACE_NAME: 'ns' }, 'k8s.namespace', 'ns'],
    [{ POD_NAMESPACE: 'ns2' }, 'k8s.namespace', 'ns2'],
    [{ K8S_NAMESPACE: 'ns3' }, 'k8s.namespace', 'ns3'],
    [{ K8S_NODE_NAME: 'node-a' }, 'k8s.nodeName', 'node-a'],
    [{ NODE_NAME: 'node-b' }, 'k8s.nodeName', 'node-b'],
    [{ OTEL_TRACES_SAMPLER: 'ALWAYS_OFF' }, 'sampler', 'always_off'],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }, 'samplerRatio', 0.25],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }, 'samplerRatio', 0],
    [{ OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: '0.5' }, 'samplerRatio', 1],
    [{ OTEL_PROPAGATORS: 'b3, tracecontext,b3' }, 'propagators', ['b3', 'tracecontext']],
    [{ OTEL_PROPAGATORS: 'b3multi' }, 'propagators', ['b3multi']],
    [{ OTEL_TRACES_EXPORTER: 'zipkin,console' }, 'tracesExporters', ['zipkin', 'console']],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'otlp.protocol', 'http/json'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }, 'otlp.protocol', 'http/protobuf'],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, 'otlp.compression', 'gzip'],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none' }, 'otlp.compression', 'none'],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '500' }, 'otlp.timeoutMs', 500],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: '500', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700' }, 'otlp.timeoutMs', 700],
    [{ OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'https://z:9411/x' }, 'zipkin.url', 'https://z:9411/x'],
    [{ OTEL_EXPORTER_ZIPKIN_TIMEOUT: '300' }, 'zipkin.timeoutMs', 300],
    [{ OTEL_BSP_SCHEDULE_DELAY: '0' }, 'bsp.scheduleDelayMs', 0],
    [{ OTEL_BSP_EXPORT_TIMEOUT: '1000' }, 'bsp.exportTimeoutMs', 1000],
    [{ OTEL_BSP_MAX_QUEUE_SIZE: '1000' }, 'bsp.maxQueueSize', 1000],
    [{ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10' }, 'bsp.maxExportBatchSize', 10],
    [{ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http' }, 'instrumentations.enabled', ['http']],
    [{ OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'undici' }, 'instrumentations.disabled', ['undici']],
    [{ PERISCOPE_IGNORE_PATHS: '/health, /metrics,' }, 'ignorePaths', ['/health', '/metrics']],
    [{ PERISCOPE_ROUTES: '/users/:id,/items/:id' }, 'routes', ['/users/:id', '/items/:id']],
    [{ OTEL_METRICS_EXPORTER: 'none' }, 'metrics.enabled', false],
    [{ OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1' }, 'metrics.host', '127.0.0.1'],
    [{ OTEL_EXPORTER_PROMETHEUS_PORT: '0' }, 'metrics.port', 0],
    [{ PERISCOPE_METRICS_PATH: '/prom' }, 'metrics.path', '/prom'],
    [{ PERISCOPE_HTTP_BUCKETS: '0.1, 1, 10' }, 'metrics.buckets', [0.1, 1, 10]],
    [{ PERISCOPE_METRICS_MAX_SERIES: '50' }, 'metrics.maxSeries', 50],
    [{ PERISCOPE_WORKER_THREADS: 'true' }, 'workerThreads', true],
    [{ PERISCOPE_SHUTDOWN_TIMEOUT: '250' }, 'shutdownTimeoutMs', 250],
  ];
  for (const [env, path, expected] of cases) {
    it(`reads ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} into ${path}`, () => {
      const { config, warnings } = load(env);
      assert.deepEqual(warnings, []);
      assert.deepEqual(get(config, path), expected);
    });
  }
});

describe('bad values', () => {
  // [variable, bad value, path, default, what the warning says is used when it is not String(default)]
  const cases = [
    ['OTEL_SDK_DISABLED', 'yes', 'disabled', false],
    ['OTEL_LOG_LEVEL', 'loud', 'logLevel', 'warn'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5', 'samplerRatio', 1],
    ['OTEL_TRACES_SAMPLER_ARG', '-0.1', 'samplerRatio', 1],
    ['OTEL_TRACES_SAMPLER_ARG', 'half', 'samplerRatio', 1],
    ['OTEL_EXPORTER_OTLP_COMPRESSION', 'br', 'otlp.compression', 'none'],
    ['OTEL_EXPORTER_OTLP_TIMEOUT', '0', 'otlp.timeoutMs', 10_000],
    ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', '1.5', 'otlp.timeoutMs', 10_000],
    ['OTEL_EXPORTER_ZIPKIN_TIMEOUT', 'soon', 'zipkin.timeoutMs', 10_000],
    ['OTEL_BSP_SCHEDULE_DELAY', '-1', 'bsp.scheduleDelayMs', 5_000],
    ['OTEL_BSP_EXPORT_TIMEOUT', '0', 'bsp.exportTimeoutMs', 30_000],
    ['OTEL_BSP_MAX_QUEUE_SIZE', 'lots', 'bsp.maxQueueSize', 2_048],
    ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', '0', 'bsp.maxExportBatchSize', 512],
    ['OTEL_ATTRIBUTE_COUNT_LIMIT', '-3', 'spanLimits.attributeCountLimit', 128],
    ['OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'x', 'spanLimits.attributeValueLengthLimit', Infinity],
    ['OTEL_SPAN_EVENT_COUNT_LIMIT', '2.5', 'spanLimits.eventCountLimit', 128],
    ['OTEL_SPAN_LINK_COUNT_LIMIT', 'many', 'spanLimits.linkCountLimit', 128],
    ['OTEL_METRICS_EXPORTER', 'otlp', 'metrics.enabled', true, 'prometheus'],
    ['OTEL_EXPORTER_PROMETHEUS_PORT', '70000', 'metrics.port', 9464],
    ['OTEL_EXPORTER_PROMETHEUS_PORT', 'http', 'metrics.port', 9464],
    ['PERISCOPE_METRICS_PATH', 'metrics', 'metrics.path', '/metrics'],
    ['PERISCOPE_METRICS_PATH', '/a?b', 'metrics.path', '/metrics'],
    ['PERISCOPE_HTTP_BUCKETS', '1,0.5', 'metrics.buckets', DEFAULTS.httpBuckets],
    ['PERISCOPE_METRICS_MAX_SERIES', '0', 'metrics.maxSeries', 2_000],
    ['PERISCOPE_WORKER_THREADS', 'on', 'workerThreads', false],
    ['PERISCOPE_SHUTDOWN_TIMEOUT', '2s', 'shutdownTimeoutMs', 2_000],
  ];
  for (const [name, value, path, def, usedText] of cases) {
    it(`warns once about ${name}=${value} and uses the default`, () => {
      const env = { [name]: value };
      if (name === 'OTEL_TRACES_SAMPLER_ARG') env.OTEL_TRACES_SAMPLER = 'traceidratio';
      const { config, warnings } = load(env);
      const used = usedText ?? (Array.isArray(def) ? def.join(',') : String(def));
      assertOneWarning(warnings, W001, name, JSON.stringify(value), `using ${used}`);
      assert.deepEqual(get(config, path), def);
    });
  }

  it('warns about a bad endpoint URL and keeps the default endpoint', () => {
    const { config, warnings } = load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector' });
    assertOneWarning(warnings, W001, 'OTEL_EXPORTER_OTLP_ENDPOINT', '"ftp://collector"', 'default');
    assert.equal(config.otlp.url, 'http://localhost:4318/v1/traces');
    const z = load({ OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'not a url' });
    assertOneWarning(z.warnings, W001, 'OTEL_EXPORTER_ZIPKIN_ENDPOINT', '"not a url"');
    assert.equal(z.config.zipkin.url, 'http://localhost:9411/api/v2/spans');
  });

  it('warns about an unknown protocol naming the variable that held it', () => {
    const a = load({ OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' });
    assertOneWarning(a.warnings, W001, 'OTEL_EXPORTER_OTLP_PROTOCOL', '"thrift"', 'using http/protobuf');
    const b = load({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'Thrift' });
    assertOneWarning(b.warnings, W001, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', '"Thrift"', 'using http/protobuf');
    assert.equal(b.config.otlp.protocol, 'http/protobuf');
  });

  it('turns grpc into http/protobuf with W002', () => {
    for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
      const { config, warnings } = load({ [name]: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' });
      assertOneWarning(warnings, 'PERISCOPE_W002', name, 'http/protobuf');
      assert.equal(config.otlp.protocol, 'http/protobuf');
      assert.equal(config.otlp.url, 'http://c:4318/v1/traces');
    }
  });

  // A single-valued name is replaced rather than ignored, so it is a W001 like any bad value.
  it('replaces an unknown sampler name with the default sampler and says so', () => {
    const { config, warnings } = load({ OTEL_TRACES_SAMPLER: 'sometimes' });
    assertOneWarning(warnings, W001, 'OTEL_TRACES_SAMPLER', '"sometimes"', 'parentbased_always_on');
    assert.equal(config.sampler, 'parentbased_always_on');
  });

  it('drops unknown exporter, propagator and instrumentation names with W008 and keeps the known ones', () => {
    for (const [name, value, path, kept] of [
      ['OTEL_TRACES_EXPORTER', 'otlp,jaeger', 'tracesExporters', ['otlp']],
      ['OTEL_PROPAGATORS', 'xray,tracecontext', 'propagators', ['tracecontext']],
      ['OTEL_NODE_DISABLED_INSTRUMENTATIONS', 'sequelize,http', 'instrumentations.disabled', ['http']],
    ]) {
      const { config, warnings } = load({ [name]: value });
      assert.equal(warnings.length, 1, name);
      assert.equal(warnings[0].code, 'PERISCOPE_W008');
      assert.ok(warnings[0].message.startsWith(`${name}:`));
      assert.deepEqual(get(config, path), kept);
    }
  });
});

describe('exporters and propagators', () => {
  it('maps OTEL_TRACES_EXPORTER=none to no exporter, even next to others', () => {
    assert.deepEqual(load({ OTEL_TRACES_EXPORTER: 'none' }).config.tracesExporters, []);
    assert.deepEqual(load({ OTEL_TRACES_EXPORTER: 'otlp,none' }).config.tracesExporters, []);
  });

  it('maps OTEL_PROPAGATORS=none to no propagator', () => {
    const { config, warnings } = load({ OTEL_PROPAGATORS: ' None ' });
    assert.deepEqual(config.propagators, []);
    assert.deepEqual(warnings, []);
  });

  it('appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT with or without a trailing slash', () => {
    assert.equal(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).config.otlp.url, 'http://c:4318/v1/traces');
    assert.equal(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }).config.otlp.url, 'http://c:4318/v1/traces');
    assert.equal(load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c/otlp/' }).config.otlp.url, 'https://c/otlp/v1/traces');
  });

  it('uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT exactly as given, over the generic one', () => {
    const { config } = load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:1234/custom' });
    assert.equal(config.otlp.url, 'http://b:1234/custom');
  });
});

describe('key=value lists', () => {
  it('percent-decodes headers, lets the traces-specific ones win and keeps = inside values', () => {
    const { config, warnings } = load({
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic%20dXNlcjpwYXNz, x-a = 1,x-b=a=b',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-a=2',
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.otlp.headers, { Authorization: 'Basic dXNlcjpwYXNz', 'x-a': '2', 'x-b': 'a=b' });
  });

  it('keeps a badly percent-encoded value as it is, with one warning', () => {
    const { config, warnings } = load({ OTEL_EXPORTER_OTLP_HEADERS: 'k=%zz' });
    assertOneWarning(warnings, W001, 'OTEL_EXPORTER_OTLP_HEADERS', '"k=%zz"');
    assert.deepEqual(config.otlp.headers, { k: '%zz' });
  });

  it('parses OTEL_RESOURCE_ATTRIBUTES and skips entries without a key', () => {
    const { config, warnings } = load({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=api,deployment.environment=prod%2Feu,,=x' });
    assert.deepEqual(config.resourceAttributes, { 'service.name': 'api', 'deployment.environment': 'prod/eu' });
    assertOneWarning(warnings, W001, 'OTEL_RESOURCE_ATTRIBUTES', '"=x"');
  });
});

describe('span limits and batch sizes', () => {
  it('uses the general attribute limits for spans, events and links unless span-specific ones are set', () => {
    const general = load({ OTEL_ATTRIBUTE_COUNT_LIMIT: '10', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '20' }).config.spanLimits;
    assert.deepEqual(general, {
      attributeCountLimit: 10,
      attributeValueLengthLimit: 20,
      eventCountLimit: 128,
      linkCountLimit: 128,
      attributePerEventCountLimit: 10,
      attributePerLinkCountLimit: 10,
    });
    const specific = load({
      OTEL_ATTRIBUTE_COUNT_LIMIT: '10',
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '20',
      OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '3',
      OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '4',
      OTEL_SPAN_EVENT_COUNT_LIMIT: '5',
      OTEL_SPAN_LINK_COUNT_LIMIT: '6',
      OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: '7',
      OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: '8',
    }).config.spanLimits;
    assert.deepEqual(specific, {
      attributeCountLimit: 3,
      attributeValueLengthLimit: 4,
      eventCountLimit: 5,
      linkCountLimit: 6,
      attributePerEventCountLimit: 7,
      attributePerLinkCountLimit: 8,
    });
  });

  it('falls back to the general limit when a span-specific one is bad', () => {
    const { config, warnings } = load({ OTEL_ATTRIBUTE_COUNT_LIMIT: '10', OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: 'ten' });
    assertOneWarning(warnings, W001, 'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', '"ten"', 'using 10');
    assert.equal(config.spanLimits.attributeCountLimit, 10);
  });

  it('clamps a batch size larger than the queue to the queue size with one warning', () => {
    const { config, warnings } = load({ OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '200' });
    assertOneWarning(warnings, W001, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', '"200"', 'using 100');
    assert.equal(config.bsp.maxExportBatchSize, 100);
    assert.equal(config.bsp.maxQueueSize, 100);
  });

  it('clamps the default batch size to a smaller queue without warning about a variable nobody set', () => {
    const { config, warnings } = load({ OTEL_BSP_MAX_QUEUE_SIZE: '100' });
    assert.deepEqual(warnings, []);
    assert.equal(config.bsp.maxExportBatchSize, 100);
    const bad = load({ OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 'big' });
    assertOneWarning(bad.warnings, W001, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', '"big"');
    assert.equal(bad.config.bsp.maxExportBatchSize, 100);
  });
});

describe('instrumentationEnabled()', () => {
  const enabled = (env, name) => instrumentationEnabled(load(env).config, name);

  it('enables every instrumentation by default', () => {
    assert.equal(enabled({}, 'http'), true);
    assert.equal(enabled({}, 'undici'), true);
  });

  it('enables only the listed ones when OTEL_NODE_ENABLED_INSTRUMENTATIONS is set', () => {
    assert.equal(enabled({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http' }, 'http'), true);
    assert.equal(enabled({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http' }, 'undici'), false);
  });

  it('lets the disabled list win over the enabled list', () => {
    const env = { OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,undici', OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'undici' };
    assert.equal(enabled(env, 'http'), true);
    assert.equal(enabled(env, 'undici'), false);
  });
});
