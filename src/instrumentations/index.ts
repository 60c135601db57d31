// The table of instrumentations, in the order they are enabled.
import { fetchInstrumentation } from './fetch.js';
import { httpClientInstrumentation } from './http-client.js';
import { httpServerInstrumentation } from './http-server.js';
import type { Instrumentation } from './types.js';

export const INSTRUMENTATIONS: readonly Instrumentation[] = [httpServerInstrumentation, httpClientInstrumentation, fetchInstrumentation];
