// The smallest node:http server: what periscope adds to a request is the whole difference.
import http from 'node:http';

const body = 'hello world\n';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
