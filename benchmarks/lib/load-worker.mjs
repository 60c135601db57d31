// The load generator: one long-lived process, pinned by the harness to the core the server is not
// on. It reads one JSON phase a line on stdin and answers one JSON result a line on stdout:
//   {"url":"http://127.0.0.1:PORT/","connections":32,"seconds":4}              saturated (closed loop)
//   {"url":…,"connections":64,"seconds":3,"rate":5000}                         fixed rate, evenly paced
//   {"url":…,"connections":32,"seconds":4,"sleep":true}                         saturated, the loader sleeping while it waits
// autocannon's own overallRate resets a per-connection quota every second, so each second starts
// with a saturated burst and latency at "50 %" looks like latency at 100 %. So a fixed-rate phase
// keeps autocannon's connections and parser but releases request k at t0 + k/rate on whichever
// connection is free. Latency is autocannon's own, from writing the request to the whole response.
// The dispatcher runs on every response and on every turn of the event loop (setImmediate, so this
// process keeps its core busy): a 1 ms timer would release slots in bursts and add queueing of the
// loader's own making. A server that falls behind shows as an achieved rate below the asked one,
// which the report marks.
// A saturated (closed-loop) phase keeps the loop busy the same way. A loader that sleeps whenever
// it waits for the server makes the server's figures bend with the server's speed: a server write
// that has to wake it costs the server more (on these virtual machines, ~2 µs of kernel time a
// request on Express), and the slower the server, the more often the loader sleeps. Measured with
// a known cost (configs.mjs's control, 3 µs of pure CPU a request): a sleeping loader read it as
// +6.0 µs on Express and +1.6 µs on hello-world, a busy one as +3.3 and +3.4. A phase with
// `sleep: true` keeps the sleeping loader: the proxy's (load.mjs's loaderSleeps), and every one of
// ab.mjs --sleeping-load, to compare.
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

const SEND = Symbol('send');

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function evenPacer(rate) {
  const interval = 1000 / rate;
  const idle = [];
  const t0 = performance.now();
  let next = 0; // index of the next slot to send; slot j is due at t0 + j * interval
  const dispatch = () => {
    const due = Math.floor((performance.now() - t0) / interval) + 1;
    while (next < due && idle.length > 0) {
      const client = idle.pop();
      client.queued = false;
      next++;
      client[SEND]();
    }
  };
  return {
    setupClient(client) {
      client[SEND] = client._doRequest; // autocannon 9's per-connection send; pinned in package.json
      client._doRequest = function () {
        if (!this.queued) {
          this.queued = true;
          idle.push(this);
        }
        dispatch();
      };
    },
    start() {
      const loop = () => {
        dispatch();
        if (!this.stopped) setImmediate(loop);
      };
      setImmediate(loop);
    },
    stop() {
      this.stopped = true;
    },
  };
}

function runPhase(phase) {
  return new Promise((resolve, reject) => {
    const pacer = phase.rate ? evenPacer(phase.rate) : undefined;
    const opts = {
      url: phase.url,
      connections: phase.connections,
      duration: phase.seconds,
      pipelining: 1,
      timeout: 10,
    };
    if (pacer) opts.setupClient = pacer.setupClient;
    const latencies = [];
    let ok = 0;
    let other = 0;
    const started = performance.now();
    const instance = autocannon(opts, (err, result) => {
      pacer?.stop();
      if (err) return reject(err);
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      resolve({
        ok,
        non2xx: other,
        errors: result.errors,
        timeouts: result.timeouts,
        seconds,
        rps: ok / seconds,
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
      });
    });
    pacer?.start();
    if (!pacer && !phase.sleep) {
      let spinning = true;
      const spin = () => {
        if (spinning) setImmediate(spin);
      };
      setImmediate(spin);
      instance.on('done', () => {
        spinning = false;
      });
    }
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) ok++;
      else other++;
      latencies.push(responseTime);
    });
  });
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let out;
  try {
    out = await runPhase(JSON.parse(line));
  } catch (err) {
    out = { error: err instanceof Error ? err.message : String(err) };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
