import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactQuery, redactUrlQuery, headerAttributes } from '../../dist/src/semconv/redact.js';
import { loadConfig } from '../../dist/src/config.js';

const keys = loadConfig({}).config.redactQueryParams;

test('replaces the values of sensitive query keys, case-insensitively, and keeps the rest', () => {
  assert.equal(redactQuery('a=1&sig=abc&b=2', keys), 'a=1&sig=REDACTED&b=2');
  assert.equal(redactQuery('X-Amz-Signature=deadbeef&X-Amz-Date=20260101', keys), 'X-Amz-Signature=REDACTED&X-Amz-Date=20260101');
  assert.equal(redactQuery('Token=t&token=u', keys), 'Token=REDACTED&token=REDACTED');
  assert.equal(redactQuery('password=', keys), 'password=REDACTED');
});

test('returns the very same string when nothing is sensitive', () => {
  const q = 'page=2&sort=desc&flag';
  assert.equal(redactQuery(q, keys), q);
  assert.equal(redactQuery('', keys), '');
});

test('matches percent-encoded key names', () => {
  assert.equal(redactQuery('api%5Fkey=s3cret', keys), 'api%5Fkey=REDACTED');
  assert.equal(redactQuery('%E0%A4%A=x&sig=y', keys), '%E0%A4%A=x&sig=REDACTED');
});

test('keeps keys without values and empty members as they are', () => {
  assert.equal(redactQuery('sig&a=1&&token=x', keys), 'sig&a=1&&token=REDACTED');
});

test('redacts only the query of a URL and keeps its fragment', () => {
  assert.equal(redactUrlQuery('https://s3.example/obj?X-Amz-Signature=abc#part', keys), 'https://s3.example/obj?X-Amz-Signature=REDACTED#part');
  assert.equal(redactUrlQuery('/path/without/query', keys), '/path/without/query');
});

test('honours a configured key list, and none', () => {
  const custom = loadConfig({ PERISCOPE_REDACT_QUERY_PARAMS: 'session,Otp' }).config.redactQueryParams;
  assert.equal(redactQuery('session=1&otp=2&sig=3', custom), 'session=REDACTED&otp=REDACTED&sig=3');
  const none = loadConfig({ PERISCOPE_REDACT_QUERY_PARAMS: 'none' }).config.redactQueryParams;
  assert.equal(redactQuery('sig=3', none), 'sig=3');
});

test('records listed headers as string arrays and redacts credentials even when listed', () => {
  const attrs = {};
  const headers = { 'x-request-id': 'r1', authorization: 'Bearer t', cookie: 'a=b', 'set-cookie': ['c=d', 'e=f'], 'content-length': 42 };
  headerAttributes('http.request.header.', ['x-request-id', 'authorization', 'cookie', 'set-cookie', 'content-length', 'absent'], (h) => headers[h], attrs);
  assert.deepEqual(attrs, {
    'http.request.header.x-request-id': ['r1'],
    'http.request.header.authorization': ['REDACTED'],
    'http.request.header.cookie': ['REDACTED'],
    'http.request.header.set-cookie': ['REDACTED', 'REDACTED'],
    'http.request.header.content-length': ['42'],
  });
});
