// The two outgoing calls of the proxy app's handler, shared with calls-inproc.js: one
// http.request, then one fetch, each reading the whole answer.
import http from 'node:http';

export function viaHttp(upstream) {
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

export async function viaFetch(upstream) {
  return (await fetch(upstream)).text();
}
