// A blocking POST for the moment the process is dying ('exit', an uncaughtException monitor),
// when no further turn of the event loop will run. Node has no synchronous HTTP client, so a
// short-lived child node process does the request while spawnSync blocks us, bounded by timeoutMs.
import { childProcess } from '../../builtins.js';

const CONFIG_ENV = 'PERISCOPE_SYNC_POST';

// Runs as `node -e` (CommonJS). Exit code 0 means the collector answered 2xx.
const SCRIPT = `
const cfg = JSON.parse(process.env.${CONFIG_ENV});
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const body = Buffer.concat(chunks);
  const lib = require(cfg.url.startsWith('https:') ? 'node:https' : 'node:http');
  const headers = Object.assign({}, cfg.headers, { 'Content-Length': String(body.length) });
  const req = lib.request(cfg.url, { method: 'POST', headers }, (res) => {
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    res.resume();
    res.on('end', () => process.exit(ok ? 0 : 1));
    res.on('error', () => process.exit(ok ? 0 : 1));
  });
  req.on('error', () => process.exit(1));
  req.end(body);
});
`;

/** Returns true when the collector accepted the payload. Never throws. */
export function postPayloadSync(
  url: string,
  headers: Readonly<Record<string, string>>,
  body: Uint8Array | string,
  timeoutMs: number,
): boolean {
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, OTEL_SDK_DISABLED: 'true', [CONFIG_ENV]: JSON.stringify({ url, headers }) };
    // NODE_OPTIONS would carry `--import periscope-agent/register` into the child: the child
    // must not load periscope (nor any other preload) at all.
    delete env.NODE_OPTIONS;
    const result = childProcess().spawnSync(process.execPath, ['-e', SCRIPT], {
      input: body,
      timeout: Math.max(1, timeoutMs),
      killSignal: 'SIGKILL',
      env,
      stdio: ['pipe', 'ignore', 'ignore'],
      windowsHide: true,
    });
    return result.status === 0;
  } catch {
    return false;
  }
}
