// Fastify 4 (an onRequest hook added through fastify.initialization) and Fastify 5 (its
// tracing:fastify.request.handler channel), each loaded with require and with import: plugins
// under prefixes, one nested in another, a plugin's error handler, handler errors.
import { describeFixture, notInstalled } from '../helpers/frameworks.js';

for (const folder of ['fastify4', 'fastify5']) {
  for (const file of ['app.cjs', 'app.mjs']) {
    describeFixture(`${folder}/${file}`, { file: `fixtures/frameworks/${folder}/${file}`, skip: notInstalled(folder) });
  }
}
