// NestJS on its Express and its Fastify adapter, loaded with require and with import: routes come
// through express.ts and fastify.ts, exceptions through Nest's ExceptionsHandler.
import { describeFixture, notInstalled } from '../helpers/frameworks.js';

for (const adapter of ['express', 'fastify']) {
  for (const file of ['app.cjs', 'app.mjs']) {
    describeFixture(`nestjs/${file} on ${adapter}`, { file: `fixtures/frameworks/nestjs/${file}`, args: [adapter], skip: notInstalled('nestjs') });
  }
}
