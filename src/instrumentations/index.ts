// The table of instrumentations, in the order they are enabled.
import { fetchInstrumentation } from './fetch.js';
import { httpClientInstrumentation } from './http-client.js';
import { httpServerInstrumentation } from './http-server.js';
import { consoleInstrumentation } from './logs/console.js';
import { pinoInstrumentation } from './logs/pino.js';
import { winstonInstrumentation } from './logs/winston.js';
import { bunyanInstrumentation } from './logs/bunyan.js';
import { expressInstrumentation } from './frameworks/express.js';
import { fastifyInstrumentation } from './frameworks/fastify.js';
import { koaInstrumentation } from './frameworks/koa.js';
import { nestjsInstrumentation } from './frameworks/nestjs.js';
import type { Instrumentation } from './types.js';
import type { ModuleInstrumentation } from '../hooks.js';

export const INSTRUMENTATIONS: readonly Instrumentation[] = [
  httpServerInstrumentation,
  httpClientInstrumentation,
  fetchInstrumentation,
  consoleInstrumentation,
];

/** Instrumentations of third-party modules, reached through the require and import hooks. */
export const MODULE_INSTRUMENTATIONS: readonly ModuleInstrumentation[] = [
  pinoInstrumentation,
  winstonInstrumentation,
  bunyanInstrumentation,
  expressInstrumentation,
  fastifyInstrumentation,
  koaInstrumentation,
  nestjsInstrumentation,
];
