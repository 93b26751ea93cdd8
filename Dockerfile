# syntax=docker/dockerfile:1
# One image, two roles: the API (the default command) and the worker (`node dist/main/worker.js`).
# docker-compose.yml runs both against one Redis.
ARG NODE_VERSION=20

# Compile TypeScript with the full (dev) dependencies.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, installed apart so the runtime stage copies no compiler or test tools.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
# package.json is read at run time (the version in /healthz, the OpenAPI document and the CLI)
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
# the image's unprivileged user (uid 1000); the app files stay root-owned and read-only to it
USER node
EXPOSE 3000
# Node ignores SIGTERM as PID 1 unless it handles it: both entry points do (graceful shutdown), and compose
# adds an init process (`init: true`) to reap children.
CMD ["node", "dist/main/api.js"]
