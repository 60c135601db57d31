N=/work/main/.cache/node/24.21.0/bin/node
UPSTREAM_URL=http://127.0.0.1:44085/ OTEL_EXPORTER_PROMETHEUS_PORT=0 OTEL_TRACES_EXPORTER=none $N --import /work/main/dist/register.dbg.js /work/main/benchmarks/apps/proxy.js > /tmp/exp/one.out 2>&1 &
PID=$!; sleep 0.5
PORT=$(grep -o 'listening [0-9]*' /tmp/exp/one.out | cut -d' ' -f2)
/work/main/benchmarks/node_modules/.bin/autocannon -c 4 -a 1000 http://127.0.0.1:$PORT/ > /dev/null 2>&1
sleep 2.5; kill -INT $PID; sleep 0.3; cat /tmp/exp/one.out
