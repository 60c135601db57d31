// Koa with @koa/router, loaded with require and with import: a prefixed router, a router nested
// into it with use(), the router's own error middleware, handler errors.
import { describeFixture, notInstalled } from '../helpers/frameworks.js';

for (const file of ['app.cjs', 'app.mjs']) {
  describeFixture(`koa/${file}`, { file: `fixtures/frameworks/koa/${file}`, skip: notInstalled('koa') });
}
