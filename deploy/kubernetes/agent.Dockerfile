# The init-container image: periscope-agent and its production dependencies under /periscope-agent, plus a `cp`
# (busybox) to copy them into the pod's shared volume. The app image is never rebuilt.
#   docker build -f deploy/kubernetes/agent.Dockerfile -t registry.example.com/periscope-agent:0.1.0 .
# Build context: the repository root.
FROM node:22.15.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.cjs.json register.ts esm-loader.ts CHANGELOG.md ./
COPY scripts/build.mjs scripts/
COPY src src
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run build && npm pack --pack-destination /tmp
# The published package as npm would install it, with its own node_modules beside dist/: register.js then
# resolves its dependencies from /otel/periscope-agent/node_modules, whatever the app has.
RUN mkdir /periscope-agent \
  && tar -xzf /tmp/periscope-agent-*.tgz -C /periscope-agent --strip-components=1 \
  && cp package-lock.json /periscope-agent/ \
  && cd /periscope-agent && npm ci --omit=dev --ignore-scripts --no-audit --no-fund && rm package-lock.json

FROM busybox:1.36.1
COPY --from=build /periscope-agent /periscope-agent
USER 65532
