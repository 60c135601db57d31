// hello.js's server driven from inside its own process, over an in-memory connection instead of
// a socket: no load generator, no kernel, no waking anybody up. What is left is the JavaScript a
// request costs, Node's and periscope's, so two builds or configurations can be told apart by a
// fraction of a microsecond on a machine whose network path is noisier than that (hotpath.mjs).
//   REQUESTS (default 200000) after WARMUP (default 50000), PIPELINE requests in flight, spread
//   over CONNECTIONS connections (default 1), each with its own client port as a load generator's
//   connections have. APP=express serves express.js's app (express-app.js) instead, /users/42.
// Prints one line: {"requests","warmup","cpuUs","wallUs"}, the times for the measured part.
import http from 'node:http';
import { Duplex } from 'node:stream';

const body = 'hello world\n';
const EXPRESS = process.env.APP === 'express';
const server = EXPRESS ? http.createServer((await import('./express-app.js')).app) : http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});

const WARMUP = Number(process.env.WARMUP ?? 50_000);
const REQUESTS = Number(process.env.REQUESTS ?? 200_000);
const PIPELINE = Number(process.env.PIPELINE ?? 8);
const CONNECTIONS = Math.max(1, Math.min(PIPELINE, Number(process.env.CONNECTIONS ?? 1)));
const REQUEST = Buffer.from(`GET ${EXPRESS ? '/users/42' : '/'} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: hotpath/1\r\nAccept: */*\r\n\r\n`);
// A response is counted by its status line, which starts the chunk Node writes its headers in.
const STATUS_LINE_TEXT = 'HTTP/1.1 ';
const STATUS_LINE = Buffer.from(STATUS_LINE_TEXT);
const startsResponse = (chunk) =>
  typeof chunk === 'string' ? chunk.startsWith(STATUS_LINE_TEXT) : chunk.length >= STATUS_LINE.length && STATUS_LINE.equals(chunk.subarray(0, STATUS_LINE.length));

// The fields of a net.Socket that Node's server and periscope read.
class Connection extends Duplex {
  remoteAddress = '127.0.0.1';
  remotePort;
  localAddress = '127.0.0.1';
  localPort = 8080;
  remoteFamily = 'IPv4';
  constructor(remotePort, onResponse) {
    super();
    this.remotePort = remotePort;
    this.onResponse = onResponse;
  }
  setTimeout() {
    return this;
  }
  setNoDelay() {
    return this;
  }
  setKeepAlive() {
    return this;
  }
  _read() {}
  _write(chunk, _enc, cb) {
    if (startsResponse(chunk)) this.onResponse();
    cb();
  }
  _writev(chunks, cb) {
    for (const { chunk } of chunks) if (startsResponse(chunk)) this.onResponse();
    cb();
  }
}

let answered = 0;
let sent = 0;
let t0;
let c0;
const total = WARMUP + REQUESTS;
function answer(conn) {
  answered++;
  if (answered === WARMUP) {
    t0 = process.hrtime.bigint();
    c0 = process.cpuUsage();
  }
  if (answered === total) {
    const cpu = process.cpuUsage(c0);
    const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
    console.log(JSON.stringify({ requests: REQUESTS, warmup: WARMUP, cpuUs: cpu.user + cpu.system, wallUs }));
    // Periscope flushes what is queued at exit, as it would on any exit.
    setImmediate(() => process.exit(0));
    return;
  }
  // Replace the answered request on the next turn, on the same connection, as a client on the wire would.
  if (sent < total) {
    sent++;
    setImmediate(push, conn);
  }
}
const push = (conn) => conn.push(REQUEST);
if (WARMUP === 0) {
  t0 = process.hrtime.bigint();
  c0 = process.cpuUsage();
}
const conns = [];
for (let i = 0; i < CONNECTIONS; i++) {
  const conn = new Connection(40000 + i, () => answer(conn));
  conns.push(conn);
  server.emit('connection', conn);
}
for (let i = 0; i < PIPELINE && sent < total; i++, sent++) conns[i % CONNECTIONS].push(REQUEST);
