// --peers: other agents on the same apps, installed into a cache outside the repository so they
// never touch its lockfiles. Node 24 only; any failure skips them with the reason.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

const DIR = join(homedir(), '.cache', 'periscope-bench-peers');
const PINNED = {
  '@opentelemetry/auto-instrumentations-node': '0.82.0',
  '@opentelemetry/api': '1.10.0',
  '@opentelemetry/core': '3.1.1', // a peer dependency of the above
  'dd-trace': '6.21.0',
};

function installedVersion(name) {
  const file = join(DIR, 'node_modules', name, 'package.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function preparePeers({ sinkUrl, log }) {
  if (Object.entries(PINNED).some(([name, v]) => installedVersion(name) !== v)) {
    log(`installing the peers into ${DIR}`);
    mkdirSync(DIR, { recursive: true });
    writeFileSync(join(DIR, 'package.json'), `${JSON.stringify({ name: 'periscope-bench-peers', private: true, dependencies: PINNED }, null, 2)}\n`);
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: DIR, encoding: 'utf8', timeout: 5 * 60_000 });
    if (r.status !== 0) return { skipped: `npm install of the peers failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ')}` };
  }
  const otelMetricsPort = await freePort();
  const otel = {
    name: 'otel',
    label: 'OTel auto-instrumentations',
    cwd: DIR, // the flags below name packages, resolved from the working directory
    // The OTel docs' ESM set-up: the register alone hooks only require(), and these apps are ESM.
    args: ['--experimental-loader=@opentelemetry/instrumentation/hook.mjs', '--import', '@opentelemetry/auto-instrumentations-node/register'],
    env: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
      OTEL_METRICS_EXPORTER: 'prometheus', // scraped once a second, as periscope's
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(otelMetricsPort),
      OTEL_LOGS_EXPORTER: 'none',
      // The default "all" includes cloud detectors that call metadata addresses off this machine.
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
    },
    metricsUrl: `http://127.0.0.1:${otelMetricsPort}/metrics`,
    scrape: true,
    expectSpans: true,
  };
  const dd = {
    name: 'dd',
    label: 'dd-trace',
    cwd: DIR,
    args: ['--import', 'dd-trace/initialize.mjs'],
    // Its agent API on the sink; no OTEL_* here, or dd-trace switches to OTLP export.
    env: {
      DD_TRACE_AGENT_URL: sinkUrl,
      DD_TRACE_STARTUP_LOGS: 'false',
      DD_REMOTE_CONFIGURATION_ENABLED: 'false',
      DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
    },
    expectSpans: true,
  };
  return {
    configs: [otel, dd],
    versions: Object.fromEntries(Object.keys(PINNED).filter((n) => n !== '@opentelemetry/core').map((n) => [n, installedVersion(n)])),
    dir: DIR,
  };
}
