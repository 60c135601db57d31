// A framework version periscope does not instrument is left alone: not patched, one debug line
// naming it, never a crash. Fake packages with real names, under a temporary node_modules, so
// Node's real resolver and the module hooks run as they would for the real ones.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { killAll, runFixture } from '../helpers/spawn.js';

const FAKES = {
  'express/package.json': { name: 'express', version: '3.21.2', main: 'index.js' },
  'express/index.js': "module.exports = { router: require('./lib/router'), Layer: require('./lib/router/layer') };",
  'express/lib/router/index.js': 'function proto() {} proto.use = function use() {}; proto.handle = function handle() {}; module.exports = proto;',
  'express/lib/router/layer.js': 'function Layer() {} Layer.prototype.handle_request = function () {}; Layer.prototype.handle_error = function () {}; module.exports = Layer;',
  'router/package.json': { name: 'router', version: '1.3.8', main: 'index.js' },
  'router/index.js': 'function Router() {} Router.prototype.use = function use() {}; Router.prototype.handle = function handle() {}; module.exports = Router;',
  'koa/package.json': { name: 'koa', version: '1.7.1', main: 'index.js' },
  'koa/index.js': "module.exports = class Application extends require('events') { callback() {} };",
  '@koa/router/package.json': { name: '@koa/router', version: '10.1.1', main: 'index.js' },
  '@koa/router/index.js': 'module.exports = class Router { match() {} middleware() {} routes() {} };',
  '@nestjs/core/package.json': { name: '@nestjs/core', version: '9.4.3', main: 'index.js' },
  '@nestjs/core/index.js': "module.exports = require('./exceptions/exceptions-handler');",
  '@nestjs/core/exceptions/exceptions-handler.js': 'exports.ExceptionsHandler = class ExceptionsHandler { next() {} };',
  // Fastify is reached through its diagnostics channel, which Fastify 3 did not publish; a fake
  // that does makes sure an old instance is still left alone.
  'fastify/package.json': { name: 'fastify', version: '3.29.5', main: 'index.js' },
  'fastify/index.js': `module.exports = function fastify() {
    const app = { version: '3.29.5', addHook() { throw new Error('addHook must not be called') } };
    require('node:diagnostics_channel').channel('fastify.initialization').publish({ fastify: app });
    return app;
  };`,
};

const APP = `
const W = Symbol.for('periscope.wrapped');
const express = require('express');
const touched = [];
if (express.router.use[W] || express.router.handle[W]) touched.push('express router');
if (express.Layer.prototype.handle_request[W]) touched.push('express layer');
if (require('router').prototype.use[W]) touched.push('router');
if (require('koa').prototype.emit !== require('events').prototype.emit) touched.push('koa');
if (require('@koa/router').prototype.match[W]) touched.push('@koa/router');
if (require('@nestjs/core').ExceptionsHandler.prototype.next[W]) touched.push('@nestjs/core');
require('fastify')();
console.log(touched.length === 0 ? 'untouched' : 'touched: ' + touched.join(', '));
`;

// The same packages reached first through import (import-in-the-middle), then require.
const APP_ESM = `
import 'express';
import 'router';
import 'koa';
import '@koa/router';
import '@nestjs/core';
import 'fastify';
import { createRequire } from 'node:module';
createRequire(import.meta.url)('./app.cjs');
`;

let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'periscope-versions-'));
  for (const [file, content] of Object.entries(FAKES)) {
    const path = join(dir, 'node_modules', file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  }
  writeFileSync(join(dir, 'app.cjs'), APP);
  writeFileSync(join(dir, 'app.mjs'), APP_ESM);
});
after(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

for (const file of ['app.cjs', 'app.mjs']) {
test(`leaves unsupported framework versions unpatched with one debug line each (${file})`, async () => {
  const app = runFixture(join(dir, file), { cwd: dir, env: { OTEL_LOG_LEVEL: 'debug', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' } });
  const { code } = await app.exited;
  assert.equal(code, 0, app.stderr());
  assert.equal(app.stdout().trim(), 'untouched');
  for (const [pkg, version, supported] of [
    ['express', '3.21.2', '4.x'],
    ['router', '1.3.8', '2.x'],
    ['koa', '1.7.1', '2.x, 3.x'],
    ['@koa/router', '10.1.1', '12.x, 13.x, 14.x, 15.x'],
    ['@nestjs/core', '9.4.3', '10.x, 11.x'],
    ['fastify', '3.29.5', '4.x, 5.x'],
  ]) {
    const lines = app.stderr().split('\n').filter((l) => l.includes(`${pkg} ${version} is outside`));
    assert.equal(lines.length, 1, `one line for ${pkg} ${version}:\n${app.stderr()}`);
    assert.match(lines[0], new RegExp(`\\(${supported.replace(/\./g, '\\.')}\\); left alone$`));
  }
  assert.doesNotMatch(app.stderr(), /PERISCOPE_W\d+/);
});
}
