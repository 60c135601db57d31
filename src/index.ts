// The public API: start() and shutdown(). Everything else is internal.
export { start, shutdown, type Agent } from './start.js';
export type { PeriscopeConfig } from './config.js';
