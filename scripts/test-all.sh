#!/usr/bin/env bash
# `npm run test:all`, and what CI runs: installs what every suite needs, runs `npm test` on this machine's Node,
# then the integration and frameworks suites once per Node version in the matrix (scripts/node-matrix.mjs), and ends with one
# summary line counting those runs: `all: N passed, M failed`. A failed run does not stop the ones after it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '%s\n' "$*"; }

# npm ci leaves node_modules/.package-lock.json behind; a newer package-lock.json means the install is stale.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "# npm ci"
  npm ci --no-audit --no-fund
else
  say "# node_modules is up to date with package-lock.json; skipping npm ci"
fi

# The frameworks suite runs the real frameworks: one folder per major version, each with its own lockfile.
# --prefer-offline: after the first run the npm cache has them all.
for dir in fixtures/frameworks/*/; do
  dir="${dir%/}"
  [[ -f "$dir/package-lock.json" ]] || continue
  if [[ ! -f "$dir/node_modules/.package-lock.json" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    say "# npm ci --prefix $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --prefer-offline || say "# npm ci --prefix $dir failed; the frameworks suite will be reported as skipped"
  fi
done

# The Prometheus suite checks our /metrics output with the real promtool and a real scrape; the deploy suite
# also runs amtool (Debian's prometheus-alertmanager) on deploy/alertmanager.
if ! compgen -G 'test/prometheus/*.test.js' > /dev/null; then
  : # no Prometheus tests yet, nothing to install
elif command -v promtool > /dev/null && command -v prometheus > /dev/null && command -v amtool > /dev/null; then
  say "# prometheus: $(promtool --version 2>&1 | head -n 1)"
elif [[ "$(id -u)" != 0 ]]; then
  say "# not installing prometheus: apt-get needs root (install the Debian packages prometheus and prometheus-alertmanager by hand)"
else
  say "# installing prometheus and prometheus-alertmanager (Debian packages)"
  # --no-install-recommends: the recommended node-exporter is a daemon we do not need.
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager; }; then
    say "# prometheus install failed; the suites that need it will be reported as skipped"
  fi
fi

matrix_ok=1
node scripts/node-matrix.mjs install || matrix_ok=0
mapfile -t versions < <(node scripts/node-matrix.mjs versions)

names=()
results=()
passed=0
failed=0
record() { # name, exit code, seconds
  names+=("$1")
  if [[ "$2" == 0 ]]; then
    results+=("pass  ${3}s")
    passed=$((passed + 1))
  else
    results+=("FAIL  ${3}s")
    failed=$((failed + 1))
  fi
}

machine="node $(node --version | sed 's/^v//') (this machine, all suites)"
say ""
say "=== ${machine} ==="
start=$SECONDS
rc=0
npm test || rc=$?
record "$machine" "$rc" $((SECONDS - start))

# The benchmark harness, seconds long, only to keep it working: never a timed assertion.
say ""
say "=== bench smoke ==="
start=$SECONDS
rc=0
node benchmarks/run.mjs --smoke || rc=$?
REQUESTS=3000 WARMUP=1000 node benchmarks/hotpath.mjs bare,traced,recorded,full 1 || rc=$?
ROUNDS=1 node benchmarks/encode.mjs dist 1 || rc=$?
record "bench smoke (harnesses only, no timing assertion)" "$rc" $((SECONDS - start))

for v in "${versions[@]}"; do
  name="node ${v} (integration, frameworks)"
  bin=".cache/node/${v}/bin/node"
  say ""
  say "=== ${name} ==="
  start=$SECONDS
  rc=0
  if [[ ! -x "$bin" ]]; then
    say "# ${bin} is missing: node scripts/node-matrix.mjs install could not install ${v}"
    rc=1
  else
    node scripts/test.mjs --node "$bin" || rc=$?
  fi
  record "$name" "$rc" $((SECONDS - start))
done

say ""
say "=== summary ==="
[[ $matrix_ok == 1 ]] || say "# node-matrix install reported a failure (see above)"
for i in "${!names[@]}"; do
  printf '%-45s %s\n' "${names[$i]}" "${results[$i]}"
done
say "all: ${passed} passed, ${failed} failed"
[[ $failed == 0 ]]
