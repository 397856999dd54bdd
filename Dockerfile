# syntax=docker/dockerfile:1
# Gatehouse as a container: `gatehouse` is the entrypoint, `serve` the default command.
# Runs as the unprivileged `node` user and writes only under /var/lib/gatehouse (the SQLite
# database, when no GATEHOUSE_DATABASE_URL names PostgreSQL), so `--read-only` works.
#
# BASE_IMAGE is any Debian-based image laid out like the official node images: Node.js 20 or
# newer with npm and its headers on PATH, and a `node` user. scripts/container-smoke.sh builds one
# with debootstrap where no registry image can be pulled (README, "Container image").
ARG BASE_IMAGE=node:22-bookworm-slim

FROM ${BASE_IMAGE} AS build
# better-sqlite3 compiles from source when no prebuilt binary can be downloaded.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts wait until the sources are here: `prepare` builds dist/ from them. The optional build
# secret `ca` (`--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt`) adds the certificates of a
# TLS-inspecting proxy between the build and the npm registry; without it, Node's own roots.
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi \
 && npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build-cli.mjs ./scripts/
COPY bin ./bin
COPY src ./src
# node-gyp takes the headers installed beside node (the node images have them) instead of
# downloading them.
RUN nodedir="$(dirname "$(dirname "$(command -v node)")")" \
 && if [ -f "$nodedir/include/node/node.h" ]; then export npm_config_nodedir="$nodedir"; fi \
 && npm rebuild better-sqlite3 \
 && npm run build:cli \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${BASE_IMAGE} AS runtime
ENV NODE_ENV=production \
    GATEHOUSE_HOST=0.0.0.0 \
    GATEHOUSE_PORT=8080 \
    GATEHOUSE_DATA_DIR=/var/lib/gatehouse
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
# The CLI's entry (dist/gatehouse.js) and the chunks each command loads when it runs (dist/chunks/).
COPY --from=build /app/dist ./dist
RUN ln -s /app/bin/gatehouse /usr/local/bin/gatehouse \
 && mkdir -p /var/lib/gatehouse \
 && chown node:node /var/lib/gatehouse
USER node
VOLUME ["/var/lib/gatehouse"]
EXPOSE 8080
# No curl in the slim image: Node's own fetch asks /readyz (503 while the database is away or
# the node drains).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.GATEHOUSE_PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["gatehouse"]
CMD ["serve"]
