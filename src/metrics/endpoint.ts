// The metrics listener: its own port, so scraping never touches the app's routes. It is
// unref'd (it never keeps the process alive), registered as ours (never traced or measured),
// and a port already in use costs one warning, never the app.
import http from 'node:http';
import { crypto } from '../builtins.js';
import { W } from '../warnings.js';
import { debug, warnOnce } from '../diag.js';
import { reportInternal } from '../report.js';
import { negotiate, render, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from './exposition.js';
import type { Family } from './types.js';

export interface EndpointOptions {
  /** Undefined: every interface. */
  readonly host: string | undefined;
  readonly port: number;
  readonly path: string;
  readonly collect: () => Promise<Family[]>;
  readonly ownServers: WeakSet<object>;
  readonly token: string | undefined;
}

// Constant-time comparison, so the token cannot be guessed byte by byte from response times.
function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7).trim());
  return given.length === expected.length && crypto().timingSafeEqual(given, expected);
}

export function startMetricsEndpoint(opts: EndpointOptions): http.Server {
  const expected = opts.token === undefined ? undefined : Buffer.from(opts.token);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== opts.path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`metrics are at ${opts.path}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (expected !== undefined && !tokenMatches(req.headers.authorization, expected)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"' }).end();
      return;
    }
    const format = negotiate(req.headers.accept);
    opts.collect().then(
      (families) => {
        const body = render(families, format);
        res.writeHead(200, { 'content-type': format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        reportInternal('metrics endpoint', err);
        res.writeHead(500).end();
      },
    );
  });
  opts.ownServers.add(server);
  server.on('error', (err: NodeJS.ErrnoException) => {
    const why = err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be opened (${err.code ?? err.message})`;
    warnOnce(
      W.METRICS_PORT,
      'listen',
      `metrics port ${opts.host === undefined ? '' : `${opts.host}:`}${opts.port} ${why}; no metrics endpoint in this process (the app is unaffected). Set OTEL_EXPORTER_PROMETHEUS_PORT to another port, or OTEL_METRICS_EXPORTER=none`,
    );
  });
  const listening = (): void => {
    const addr = server.address();
    if (addr === null || typeof addr !== 'object') return;
    const host = opts.host ?? (addr.family === 'IPv6' ? `[${addr.address}]` : addr.address);
    debug(`metrics endpoint on http://${host}:${addr.port}${opts.path}`);
  };
  // Without a host, listen(port) binds the unspecified address: `::`, which takes IPv4 too (libuv
  // clears IPV6_V6ONLY), or 0.0.0.0 where IPv6 is off. With a host, even an address, Node looks it
  // up first (loading node:dns), and (Node 22 and later) tests each answer with isIPv6, whose
  // first use compiles a large regular expression: on Node 24.22.3, ~7 ms in a script that only
  // listens, ~3 ms of the preload's start-up (benchmarks/startup.mjs), which the default saves.
  if (opts.host === undefined) server.listen(opts.port, listening);
  else server.listen(opts.port, opts.host, listening);
  server.unref();
  return server;
}
