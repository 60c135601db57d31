// The control configuration of `npm run bench` and ab.mjs (`burn`, configs.mjs): bare, plus
// BENCH_BURN_US microseconds of pure CPU spent on every request before the app sees it. Periscope's cost on the network is not what
// it costs in process (hotpath.mjs): a server that is slower by a few µs changes how often the
// load generator sleeps, and with it what the server's own socket writes cost (waking it) and how
// many requests each turn of the event loop serves. Running a known cost through the same
// harness shows how much of a configuration's difference that feedback makes.
'use strict';
const http = require('node:http');
const { performance } = require('node:perf_hooks');

const burnMs = Number(process.env.BENCH_BURN_US ?? 0) / 1000;
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (name) {
  if (name === 'request') {
    // performance.now() returns a double: the loop allocates nothing, so it is CPU and no garbage.
    const end = performance.now() + burnMs;
    while (performance.now() < end);
  }
  return emit.apply(this, arguments);
};
