// The table of instrumentations, in the order they are enabled.
import { fetchInstrumentation } from './fetch.js';
import { httpClientInstrumentation } from './http-client.js';
import { httpServerInstrumentation } from './http-server.js';
import type { Instrumentation } from './types.js';
import type { ModuleInstrumentation } from '../hooks.js';

export const INSTRUMENTATIONS: readonly Instrumentation[] = [httpServerInstrumentation, httpClientInstrumentation, fetchInstrumentation];

/** Instrumentations of third-party modules, reached through the require and import hooks. */
export const MODULE_INSTRUMENTATIONS: readonly ModuleInstrumentation[] = [];
