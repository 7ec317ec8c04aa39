# syntax=docker/dockerfile:1
# authward container image.
#
#   docker build -t authward .                  the production image (default target: runtime)
#   docker build --target demo -t authward-demo .   the demo provider, sample app and API (docker-compose.yml)
#
# Base: Node.js 24 (LTS until April 2028) on Debian 13 "trixie" slim. glibc, not musl: sodium-native
# (under @fastify/secure-session) ships prebuilt binaries for linux-x64 and linux-arm64 built against
# glibc >= 2.33 and none for musl, so Alpine would need a compiler toolchain in the build. Pin the
# digest (node:24-trixie-slim@sha256:...) in your own builds for reproducibility.
ARG NODE_IMAGE=node:24-trixie-slim

# ---- build: dev dependencies, TypeScript -> dist/
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- prod-deps: production dependencies only (no TypeScript, no test tools, no oidc-provider)
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- demo: development tooling for docker compose (never the production image)
FROM build AS demo
# openssl makes the demo provider's throwaway CA at start.
RUN apt-get update \
  && apt-get install -y --no-install-recommends openssl \
  && rm -rf /var/lib/apt/lists/*
COPY demo ./demo
RUN npm run demo:build \
  && mkdir -p /demo-ca \
  && chown 1000:1000 /demo-ca
ENV NODE_ENV=development
USER 1000:1000
CMD ["node", "demo/.build/provider.js"]

# ---- runtime: the production image (last stage, so the default target)
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    AUTHWARD_CONFIG=/etc/authward/config.yaml \
    AUTHWARD_HEALTHCHECK_URL=http://127.0.0.1:8080/healthz
WORKDIR /app
# Owned by root, run as 1000: the process cannot modify its own code.
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json config.yaml.example ./
# The node user of the official image, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080 9464
STOPSIGNAL SIGTERM
# No curl in a slim image: node itself probes the liveness path (set AUTHWARD_HEALTHCHECK_URL if
# listen.port or health.livenessPath differ from the defaults).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get(process.env.AUTHWARD_HEALTHCHECK_URL,{timeout:2000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]
# V8's heap sized from the container's memory limit (old space 60 %, semi-spaces 1/64 of it: see
# docs/deployment.md, "Memory"); NODE_OPTIONS=--max-old-space-size=... overrides it.
CMD ["/bin/sh", "-c", "exec node $(node dist/cli.js heap-flags) dist/cli.js"]
