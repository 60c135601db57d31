// One server's life under one configuration: start it pinned to the server core; a short warm-up
// and idle RSS; a saturated warm-up, then a saturated phase (throughput, CPU per request); two
// evenly paced phases at fixed rates (latency); RSS after load; stop it and ask the sink what it got.
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSeconds, foreignLoad, rssMB, threadCpuSeconds } from './measure.mjs';
import { start } from './procs.mjs';

const METRICS_LINE = /metrics endpoint on (http:\/\/\S+)/;
// What Prometheus 2.x asks for, so the scrapes take the OpenMetrics path with exemplars.
const SCRAPE_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

function scraper(url) {
  const state = { ok: 0, failed: 0 };
  const timer = setInterval(async () => {
    try {
      const res = await fetch(url, { headers: { accept: SCRAPE_ACCEPT }, signal: AbortSignal.timeout(900) });
      await res.text();
      if (res.ok) state.ok++;
      else state.failed++;
    } catch {
      state.failed++;
    }
  }, 1000);
  return { state, stop: () => clearInterval(timer) };
}

/**
 * opts: { node, appFile, path, config, env, load, sink, durations, rates, cpu, loaderSleeps? }
 * config: { name, args, env, cwd?, metricsUrl?: 'debug-line' | url, scrape?, expectSpans? }
 * rates: [r50, r80], or null for the run that calibrates them from its own saturated rate.
 */
export async function runServer(opts) {
  const { config } = opts;
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env, ...config.env };
  const server = start(`${config.name} ${opts.appFile}`, opts.node, [...config.args, opts.appFile], { cpu: opts.cpu, env, cwd: config.cwd });
  const scrape = {};
  let out;
  let error;
  try {
    out = await measure(server, opts, scrape);
  } catch (err) {
    error = err;
  }
  scrape.stop?.();
  await server.stop(5000);
  // Taken after the server is gone, so what it flushed at exit counts too.
  const received = await opts.sink.take();
  if (error) {
    error.message += `\n${config.name} stderr: ${server.stderr().slice(-1500)}`;
    throw error;
  }
  out.spans = received.spans + received.traces;
  out.spansPerReq = out.served ? out.spans / out.served : null;
  out.scrapes = scrape.state ?? null;
  if (out.invalid) return out;
  if (config.expectSpans && out.spans === 0) out.invalid = 'the sink counted no spans';
  else if (config.scrape && (!scrape.state || scrape.state.ok === 0)) out.invalid = 'no metrics scrape succeeded';
  else if (out.sat.errors > 0) out.invalid = `${out.sat.errors} failed requests in the saturated phase`;
  return out;
}

async function measure(server, opts, scrape) {
  const { config, load, durations } = opts;
  const port = Number((await server.waitFor(/listening (\d+)/))[1]);
  const url = `http://127.0.0.1:${port}${opts.path}`;
  const out = { config: config.name, invalid: null, fixed: [] };

  let metricsUrl = config.metricsUrl;
  if (metricsUrl === 'debug-line') {
    metricsUrl = await server.waitFor(METRICS_LINE, { stream: 'stderr', timeoutMs: 5000 }).then(
      (m) => m[1],
      () => undefined,
    );
    if (metricsUrl === undefined) out.invalid = 'periscope did not start: no metrics endpoint line on stderr';
  }
  if (config.scrape && metricsUrl) Object.assign(scrape, scraper(metricsUrl));

  let served = 0;
  const phase = async (spec) => {
    const r = await load.phase({ url, sleep: opts.loaderSleeps === true, ...spec });
    served += r.ok;
    return r;
  };
  // A few hundred requests, so every code path has run once, then RSS at rest; then a saturated
  // warm-up so the JIT has settled before anything is timed.
  await phase({ connections: 4, seconds: 1, rate: 500 });
  await sleep(durations.settleMs);
  out.rssIdle = rssMB(server.pid);
  await phase({ connections: 32, seconds: durations.warmup });

  const foreign = foreignLoad({ serverCpu: opts.cpu, serverPid: server.pid });
  const cpu0 = cpuSeconds(server.pid);
  const threads0 = threadCpuSeconds(server.pid);
  const loadCpu0 = cpuSeconds(load.pid);
  const sat = await phase({ connections: 32, seconds: durations.saturated });
  const cpu1 = cpuSeconds(server.pid);
  const threads1 = threadCpuSeconds(server.pid);
  const loaderBusy = (cpuSeconds(load.pid) - loadCpu0) / sat.seconds;
  const perReq = (key) => ((threads1[key] - threads0[key]) * 1e6) / sat.ok;
  out.sat = {
    rps: sat.rps,
    cpuUsPerReq: ((cpu1 - cpu0) * 1e6) / sat.ok,
    // The same CPU by thread (ab.mjs prints it): the main thread's user and system time, the rest.
    threadsUsPerReq: { mainUser: perReq('mainUser'), mainSystem: perReq('mainSystem'), others: perReq('others') },
    busy: (cpu1 - cpu0) / sat.seconds,
    loaderBusy,
    errors: sat.errors + sat.non2xx,
  };

  out.rates = opts.rates ?? [0.5, 0.8].map((f) => Math.round(sat.rps * f));
  for (const rate of out.rates) {
    const c0 = cpuSeconds(server.pid);
    const r = await phase({ connections: 64, seconds: durations.fixed, rate });
    // CPU per request where neither side is the bottleneck: at saturation a slower server also
    // finds the load generator asleep more often, and each response's write pays for waking it.
    const cpuUsPerReq = r.ok > 0 ? ((cpuSeconds(server.pid) - c0) * 1e6) / r.ok : null;
    out.fixed.push({ rate, rps: r.rps, p50: r.p50, p99: r.p99, cpuUsPerReq, errors: r.errors + r.non2xx });
  }
  out.rssLoad = rssMB(server.pid);
  out.foreign = foreign();
  out.served = served;
  return out;
}
