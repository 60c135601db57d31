import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  clientRequestAttributes,
  clientStatusIsError,
  errorType,
  normalizeMethod,
  parseHostHeader,
  serverRequestAttributes,
  serverStatusIsError,
  spanName,
} from '../../dist/src/semconv/http.js';
import { compilePathMatcher } from '../../dist/src/paths.js';

function serverReq(over = {}) {
  return {
    method: 'GET',
    url: '/',
    httpVersion: '1.1',
    headers: {},
    remoteAddress: '10.0.0.9',
    remotePort: 51000,
    localPort: 8080,
    ...over,
  };
}

function client(over = {}) {
  const info = { method: 'GET', protocol: 'http:', hostname: 'example.com', port: 80, path: '/', hasCredentials: false, ...over };
  return clientRequestAttributes(info, normalizeMethod(info.method), info.method);
}

describe('methods and span names', () => {
  it('keeps the known methods and reports anything else as _OTHER', () => {
    for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']) {
      assert.equal(normalizeMethod(m), m);
    }
    for (const m of ['get', 'PROPFIND', 'FOO', '']) assert.equal(normalizeMethod(m), '_OTHER');
    assert.equal(normalizeMethod(undefined), 'GET');
  });

  it('names spans {method} or {method} {route}, and HTTP for _OTHER', () => {
    assert.equal(spanName('GET', undefined), 'GET');
    assert.equal(spanName('POST', '/users/:id'), 'POST /users/:id');
    assert.equal(spanName('_OTHER', undefined), 'HTTP');
    assert.equal(spanName('_OTHER', '/x'), 'HTTP /x');
  });

  it('names each span by its own method and route when requests of different routes and methods interleave', () => {
    const calls = [
      ['GET', '/users/:id'], ['GET', '/users/:id'], ['POST', '/users/:id'], ['GET', '/orders/:id'],
      ['GET', undefined], ['GET', '/orders/:id'], ['_OTHER', '/orders/:id'], ['GET', `/users/${':id'}`],
    ];
    for (const [method, route] of calls) {
      const expected = route === undefined ? (method === '_OTHER' ? 'HTTP' : method) : `${method === '_OTHER' ? 'HTTP' : method} ${route}`;
      assert.equal(spanName(method, route), expected);
    }
    // A repeated route gives the same string, joined once.
    assert.equal(spanName('GET', '/a/:b'), spanName('GET', '/a/:b'));
  });
});

describe('parseHostHeader', () => {
  it('splits names and IPv4 addresses from their ports', () => {
    assert.deepEqual(parseHostHeader('example.com'), { address: 'example.com', port: undefined });
    assert.deepEqual(parseHostHeader('example.com:8443'), { address: 'example.com', port: 8443 });
    assert.deepEqual(parseHostHeader('127.0.0.1:3000'), { address: '127.0.0.1', port: 3000 });
  });

  it('reads bracketed IPv6 literals with and without a port', () => {
    assert.deepEqual(parseHostHeader('[::1]:8080'), { address: '::1', port: 8080 });
    assert.deepEqual(parseHostHeader('[2001:db8::1]'), { address: '2001:db8::1', port: undefined });
    assert.equal(parseHostHeader('[::1'), undefined);
  });

  it('gives no port for ports that are not plain decimal numbers from 1 to 65535', () => {
    for (const bad of ['0', '65536', '-1', 'http', '', '80.5', '0x50', '1e3', '+80', ' 80']) {
      assert.equal(parseHostHeader(`example.com:${bad}`).port, undefined, `port ${JSON.stringify(bad)}`);
      assert.equal(parseHostHeader(`[::1]:${bad}`).port, undefined, `port ${JSON.stringify(bad)}`);
    }
    assert.equal(parseHostHeader('example.com:65535').port, 65535);
  });

  it('returns undefined for a missing or empty header', () => {
    assert.equal(parseHostHeader(undefined), undefined);
    assert.equal(parseHostHeader(''), undefined);
  });

  it('answers a host seen before as it did the first time, whatever came between', () => {
    // Strings built at run time, as a parser's are: equal to, not the same object as, the last one.
    const a = (port) => ['api.example.com', port].join(':');
    assert.deepEqual(parseHostHeader(a(8080)), { address: 'api.example.com', port: 8080 });
    assert.deepEqual(parseHostHeader(a(8080)), { address: 'api.example.com', port: 8080 });
    assert.deepEqual(parseHostHeader(a(9090)), { address: 'api.example.com', port: 9090 });
    assert.equal(parseHostHeader('[::1'), undefined);
    assert.deepEqual(parseHostHeader(a(8080)), { address: 'api.example.com', port: 8080 });
    assert.equal(parseHostHeader('[::1'), undefined);
    assert.equal(parseHostHeader(''), undefined);
    assert.deepEqual(parseHostHeader('[::1]:80'), { address: '::1', port: 80 });
  });
});

describe('serverRequestAttributes', () => {
  it('builds the stable attributes of a plain request', () => {
    const attrs = serverRequestAttributes(serverReq({ url: '/a/b', headers: { host: 'api.local:8080', 'user-agent': 'curl/8' } }), 'GET', 'http');
    assert.deepEqual(attrs, {
      'http.request.method': 'GET',
      'url.scheme': 'http',
      'network.protocol.version': '1.1',
      'url.path': '/a/b',
      'server.address': 'api.local',
      'server.port': 8080,
      'client.address': '10.0.0.9',
      'network.peer.address': '10.0.0.9',
      'network.peer.port': 51000,
      'user_agent.original': 'curl/8',
    });
  });

  it('splits the query from the path and keeps an empty query', () => {
    const a = serverRequestAttributes(serverReq({ url: '/search?q=1&r=a?b' }), 'GET', 'http');
    assert.equal(a['url.path'], '/search');
    assert.equal(a['url.query'], 'q=1&r=a?b');
    const b = serverRequestAttributes(serverReq({ url: '/x?' }), 'GET', 'http');
    assert.equal(b['url.query'], '');
    const c = serverRequestAttributes(serverReq({ url: undefined }), 'GET', 'http');
    assert.equal(c['url.path'], '/');
    assert.equal('url.query' in c, false);
  });

  it('takes the first x-forwarded-for entry as client.address and keeps the peer address', () => {
    const attrs = serverRequestAttributes(serverReq({ headers: { 'x-forwarded-for': ' 203.0.113.7 , 10.1.1.1' } }), 'GET', 'http');
    assert.equal(attrs['client.address'], '203.0.113.7');
    assert.equal(attrs['network.peer.address'], '10.0.0.9');
    const blank = serverRequestAttributes(serverReq({ headers: { 'x-forwarded-for': ' ' } }), 'GET', 'http');
    assert.equal(blank['client.address'], '10.0.0.9');
  });

  it('uses the default port of the scheme when the Host header has none', () => {
    assert.equal(serverRequestAttributes(serverReq({ headers: { host: 'a' } }), 'GET', 'http')['server.port'], 80);
    assert.equal(serverRequestAttributes(serverReq({ headers: { host: 'a' } }), 'GET', 'https')['server.port'], 443);
    assert.equal(serverRequestAttributes(serverReq({ headers: { host: '[::1]' } }), 'GET', 'https')['server.address'], '::1');
  });

  it('leaves out server and client attributes it does not know', () => {
    const attrs = serverRequestAttributes(serverReq({ remoteAddress: undefined, remotePort: undefined }), 'GET', 'http');
    for (const k of ['server.address', 'server.port', 'client.address', 'network.peer.address', 'network.peer.port', 'user_agent.original']) {
      assert.equal(k in attrs, false, k);
    }
  });

  it('keeps the original method of an _OTHER request', () => {
    const attrs = serverRequestAttributes(serverReq({ method: 'PROPFIND' }), '_OTHER', 'http');
    assert.equal(attrs['http.request.method'], '_OTHER');
    assert.equal(attrs['http.request.method_original'], 'PROPFIND');
    assert.equal('http.request.method_original' in serverRequestAttributes(serverReq(), 'GET', 'http'), false);
  });
});

describe('clientRequestAttributes', () => {
  it('omits the default port from url.full but always sets server.port', () => {
    assert.equal(client()['url.full'], 'http://example.com/');
    assert.equal(client()['server.port'], 80);
    assert.equal(client({ protocol: 'https:', port: 443, path: '/a?b=1' })['url.full'], 'https://example.com/a?b=1');
    assert.equal(client({ protocol: 'https:', port: 80 })['url.full'], 'https://example.com:80/');
    assert.equal(client({ port: 8080 })['url.full'], 'http://example.com:8080/');
  });

  it('brackets IPv6 addresses in url.full only', () => {
    const attrs = client({ hostname: '::1', port: 3000, path: '/x' });
    assert.equal(attrs['url.full'], 'http://[::1]:3000/x');
    assert.equal(attrs['server.address'], '::1');
  });

  it('replaces credentials with REDACTED:REDACTED@', () => {
    assert.equal(client({ hasCredentials: true, path: '/p' })['url.full'], 'http://REDACTED:REDACTED@example.com/p');
  });

  it('keeps the original method of an _OTHER request', () => {
    const attrs = client({ method: 'purge' });
    assert.equal(attrs['http.request.method'], '_OTHER');
    assert.equal(attrs['http.request.method_original'], 'purge');
    assert.equal('http.request.method_original' in client(), false);
  });
});

describe('errors and statuses', () => {
  it('uses the error code, then the class name, then _OTHER as error.type', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(errorType(refused), 'ECONNREFUSED');
    assert.equal(errorType(new TypeError('x')), 'TypeError');
    assert.equal(errorType(Object.assign(new Error('x'), { code: '' })), 'Error');
    assert.equal(errorType({ code: 42 }), '_OTHER');
    for (const v of [null, undefined, 'boom', 42]) assert.equal(errorType(v), '_OTHER');
  });

  it('marks 5xx as errors for servers and 4xx and 5xx for clients', () => {
    assert.deepEqual([399, 400, 499, 500].map(serverStatusIsError), [false, false, false, true]);
    assert.deepEqual([399, 400, 499, 500].map(clientStatusIsError), [false, true, true, true]);
  });
});

describe('compilePathMatcher', () => {
  it('matches nothing for an empty list', () => {
    const m = compilePathMatcher([]);
    for (const p of ['', '/', '/health']) assert.equal(m(p), false);
  });

  it('matches exact paths only as a whole', () => {
    const m = compilePathMatcher(['/health', '/ready']);
    assert.equal(m('/health'), true);
    assert.equal(m('/ready'), true);
    assert.equal(m('/health/live'), false);
    assert.equal(m('/api/health'), false);
  });

  it('keeps * inside one path segment', () => {
    const m = compilePathMatcher(['/static/*.css']);
    assert.equal(m('/static/app.css'), true);
    assert.equal(m('/static/.css'), true);
    assert.equal(m('/static/a/b.css'), false);
  });

  it('lets ** cross segments', () => {
    const m = compilePathMatcher(['/assets/**']);
    assert.equal(m('/assets/a'), true);
    assert.equal(m('/assets/a/b/c.js'), true);
    assert.equal(m('/other/assets/a'), false);
  });

  it('treats regular-expression metacharacters in globs as literal', () => {
    const m = compilePathMatcher(['/a.b', '/v1+(x)', '/q?', '/[id]', '/$^|{2}\\']);
    for (const p of ['/a.b', '/v1+(x)', '/q?', '/[id]', '/$^|{2}\\']) assert.equal(m(p), true, p);
    for (const p of ['/axb', '/v11x', '/q', '/i', '/d', '/']) assert.equal(m(p), false, p);
  });
});
