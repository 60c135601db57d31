// Steady demo traffic for deploy/compose: about four checkouts a second through the frontend, and now and then a
// path the frontend does not know (a 404 with no route). Not instrumented: it runs without NODE_OPTIONS.
const target = process.env.TARGET_URL ?? 'http://frontend:8080';
const items = ['book', 'lamp', 'kettle', 'chair'];
let n = 0;

async function once() {
  const path = n % 25 === 24 ? '/nope' : `/checkout?item=${items[n % items.length]}`;
  n++;
  try {
    const res = await fetch(`${target}${path}`, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
  } catch (err) {
    process.stderr.write(`loadgen: ${path}: ${err.message}\n`);
  }
}

setInterval(once, 250);
process.on('SIGTERM', () => process.exit(0));
