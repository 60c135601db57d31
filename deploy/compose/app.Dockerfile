# The two-service example's image, built the way a user's app gets periscope: the app's own files plus
# `npm install periscope-agent` (here the package packed from this repository), and nothing else. The services
# start it with NODE_OPTIONS=--import periscope-agent/register, resolved from /app/node_modules.
# Build context: the repository root (see docker-compose.yml).
FROM node:22.15.0-bookworm-slim AS agent
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.cjs.json register.ts esm-loader.ts CHANGELOG.md ./
COPY scripts/build.mjs scripts/
COPY src src
# --ignore-scripts: no dev dependency needs its install script to build periscope (bunyan's optional dtrace
# addon would want a compiler).
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run build && npm pack --pack-destination /tmp

FROM node:22.15.0-bookworm-slim
WORKDIR /app
COPY --from=agent /tmp/periscope-agent-*.tgz /tmp/
RUN npm init -y > /dev/null \
  && npm install --omit=dev --no-audit --no-fund /tmp/periscope-agent-*.tgz \
  && rm /tmp/periscope-agent-*.tgz
COPY fixtures/chain/frontend.mjs fixtures/chain/backend.cjs deploy/compose/loadgen.mjs ./
USER node
