# syntax=docker/dockerfile:1
# Node 24 LTS, pinned to the release .ci/run tests on (test/deploy/dockerfile.test.ts keeps them equal).

# Dependencies with dev tools (tsc, tsx): shared by the build and the simulator.
FROM node:24.22.3-bookworm-slim AS deps
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN npm ci

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build

# The Interlace simulator for `docker compose --profile demo`: it runs TypeScript through tsx, a dev
# dependency, so it keeps them instead of using the lean runtime image.
FROM deps AS simulator
COPY tsconfig.json ./
COPY src ./src
COPY simulator ./simulator
ENV SIMULATOR_HOST=0.0.0.0
USER node
EXPOSE 4010
CMD ["npm", "run", "simulator"]

# Last stage, so a plain `docker build .` produces the production image.
FROM node:24.22.3-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# The operator CLI on PATH: `docker compose exec worker interlace-sweep-ops deposits list`.
RUN chmod 755 dist/src/ops/main.js && ln -s /app/dist/src/ops/main.js /usr/local/bin/interlace-sweep-ops
# The commit for the build_info metric: `docker compose build --build-arg BUILD_COMMIT=$(git rev-parse HEAD)`.
ARG BUILD_COMMIT=
ENV BUILD_COMMIT=$BUILD_COMMIT
USER node
# 3000 the webhook (public), 3001 the admin port (ADMIN_PORT), 9100 a worker's /metrics (METRICS_PORT).
EXPOSE 3000
EXPOSE 3001 9100
# One process with the API and a worker; docker-compose.yml runs them as separate services instead.
# The V8 flags are package.json's config.nodeFlags: a smaller young generation, and an old one that
# may grow by its live size again between full collections (docs/configuration.md#node-runtime-flags).
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=100", "dist/workers/start-service.js"]
