// `npm run demo`: the two-service chain under the preload with the console exporter. No
// collector needed: each service prints its spans as a tree on stderr.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const register = `${root}dist/register.js`;
const children = [];

function start(name, file, env) {
  const child = spawn(process.execPath, ['--import', register, file], {
    cwd: root,
    env: { ...process.env, OTEL_SERVICE_NAME: name, OTEL_TRACES_EXPORTER: 'console', OTEL_BSP_SCHEDULE_DELAY: '200', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let partial = '';
  child.stderr.on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop();
    for (const line of lines) process.stdout.write(`[${name}] ${line}\n`);
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`${name} exited early (${code})`)));
  });
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

try {
  const backendPort = await start('backend', 'fixtures/chain/backend.cjs', {});
  const frontendPort = await start('frontend', 'fixtures/chain/frontend.mjs', { BACKEND_URL: `http://127.0.0.1:${backendPort}` });
  console.log(`frontend on :${frontendPort}, backend on :${backendPort}; sending 3 requests to /checkout\n`);
  for (const item of ['book', 'lamp', 'chair']) {
    const body = JSON.parse(await get(`http://127.0.0.1:${frontendPort}/checkout?item=${item}`));
    console.log(`GET /checkout?item=${item} -> stock ${body.stock}, price ${body.price}; backend saw ${body.backendSaw[0].traceparent}`);
  }
  console.log('\nspans, as each service prints them (OTEL_TRACES_EXPORTER=console):\n');
  await new Promise((r) => setTimeout(r, 800));
} finally {
  for (const c of children) c.kill('SIGTERM');
}
