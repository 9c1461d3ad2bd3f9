# The Airbyte face of tap-wemasy as an Airbyte source image (a custom connector).
#   docker build -t airbyte/source-wemasy:0.2.0 .
#   docker run --rm airbyte/source-wemasy:0.2.0 spec
# The image installs the package as `npm pack` ships it (test/airbyte/docker.test.ts checks that
# the entrypoint names a file of that package, and that the labels match package.json).

# Build: compile dist/ and pack the package, as for npm.
FROM node:20-slim AS build
WORKDIR /build
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY schemas ./schemas
COPY catalog.json README.md ./
RUN npm run build && mkdir /pkg && npm pack --ignore-scripts --pack-destination /pkg

# Run: the packed package and its runtime dependencies only.
FROM node:20-slim
WORKDIR /airbyte/integration_code
COPY --from=build /pkg /pkg
RUN npm install --omit=dev --no-audit --no-fund /pkg/tap-wemasy-*.tgz && rm -rf /pkg /root/.npm
ENV AIRBYTE_ENTRYPOINT="node /airbyte/integration_code/node_modules/tap-wemasy/dist/airbyte/main.js"
ENTRYPOINT ["node", "/airbyte/integration_code/node_modules/tap-wemasy/dist/airbyte/main.js"]
LABEL io.airbyte.name=airbyte/source-wemasy
LABEL io.airbyte.version=0.2.0
