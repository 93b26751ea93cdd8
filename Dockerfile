# One image, two roles: the API (the default command) and the worker (`node dist/main/worker.js`).
# docker-compose.yml builds it once and runs both against one Redis. Plain Dockerfile syntax, no
# `# syntax=` frontend line: the build needs the base image and the npm registry, nothing else.
ARG NODE_VERSION=20

# Compile TypeScript, the AssemblyScript kernels to dist/solver/kernels.wasm, and the dashboard (web/, vite)
# to dist/web, with the full (dev) dependencies. The client package (packages/client, an npm workspace) is
# built too, as the root build does, but not copied into the image; npm ci needs its package.json.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages/client/tsconfig.json ./packages/client/
COPY src ./src
COPY assembly ./assembly
COPY web ./web
# the type declarations are no part of the service (the benchmarks and test launchers are outside src/)
RUN npm run build && find dist -name '*.d.ts' -delete

# Production dependencies only, installed apart so the runtime stage copies no compiler or test tools.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
# The worker rewrites this file every 5 s while its queue runs and Redis answers; the worker's healthcheck
# (`node dist/main/healthcheck.js worker`) fails once it is 20 s old. The API role ignores it.
ENV WORKER_HEALTH_FILE=/tmp/levinv-worker.alive
# Outside a container HOST defaults to loopback; in one, loopback is the container's own and unreachable
# through a published port, so the image listens on every interface (the API, and a worker's metrics port).
ENV HOST=0.0.0.0
# package.json is read at run time (the version in /healthz, the OpenAPI document and the CLI)
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
# the image's unprivileged user (uid 1000); the app files stay root-owned and read-only to it
USER node
EXPOSE 3000
# No HEALTHCHECK here: it would apply to both roles (and OCI images drop it). The compose file has one per
# role: `node dist/main/healthcheck.js api` (GET /readyz) and `... worker` (the heartbeat file).
# Node ignores SIGTERM as PID 1 unless it handles it: both entry points do (graceful shutdown), and compose
# adds an init process (`init: true`) to forward signals and reap children.
CMD ["node", "dist/main/api.js"]
