# syntax=docker/dockerfile:1
# runner-ops image: compiled JavaScript on Node.js 22 LTS (the AWS SDK v3 releases after
# January 2027 need Node 22; the code itself also runs on Node 20).
#
#   docker build -t runner-ops .
#   docker run --env-file .env -v "$PWD/runner-ops.yml:/app/runner-ops.yml:ro" -p 3000:3000 runner-ops
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: all dependencies, TypeScript -> dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# ---- runtime: production dependencies and compiled code only ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The fleet file is mounted at /app/runner-ops.yml: RUNNER_OPS_CONFIG defaults to ./runner-ops.yml.
# Code and dependencies stay owned by root: the bot cannot rewrite itself.
USER node
EXPOSE 3000
# slim has no curl: ask /healthz with Node's fetch (200 while Redis answers, 503 otherwise).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:${PORT:-3000}/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "dist/src/main.js"]
