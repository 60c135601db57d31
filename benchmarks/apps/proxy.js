// A service that calls out before it answers: one http.request and one fetch to UPSTREAM_URL,
// so periscope makes one SERVER and two CLIENT spans per request and injects traceparent twice.
import http from 'node:http';
import { viaFetch, viaHttp } from './upstream-calls.js';

const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8080/');

const server = http.createServer(async (req, res) => {
  try {
    const a = await viaHttp(upstream);
    const b = await viaFetch(upstream);
    const body = `${a}\n${b}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } catch (err) {
    res.writeHead(502).end(String(err));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
