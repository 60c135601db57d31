// A service that calls out before it answers: one http.request and one fetch to UPSTREAM_URL,
// so periscope makes one SERVER and two CLIENT spans per request and injects traceparent twice.
import http from 'node:http';

const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8080/');

function viaHttp() {
  return new Promise((resolve, reject) => {
    const req = http.request(upstream, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const server = http.createServer(async (req, res) => {
  try {
    const a = await viaHttp();
    const b = await (await fetch(upstream)).text();
    const body = `${a}\n${b}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } catch (err) {
    res.writeHead(502).end(String(err));
  }
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
