#!/usr/bin/env bash
# Builds the Gatehouse image with podman on a Debian base made by debootstrap (no registry image
# needed), runs it read-only as the unprivileged `node` user against a local PostgreSQL, creates
# an environment and a client with the CLI inside the container, gets a token through it with
# curl, and runs its HEALTHCHECK. Removes its own container and database at the end.
#
#   sudo apt-get install -y podman debootstrap   # once; the script runs as root (rootful podman)
#   bash scripts/container-smoke.sh
#
# Settings (environment): GATEHOUSE_SMOKE_PG (default postgres://postgres@127.0.0.1:5432, a
# PostgreSQL that lets this user create databases), GATEHOUSE_SMOKE_PORT (18080),
# GATEHOUSE_SMOKE_MIRROR (the Debian mirror; default: the first one apt on this machine uses),
# GATEHOUSE_SMOKE_SUITE (bookworm), GATEHOUSE_SMOKE_REBUILD_BASE=1 to remake the base image.
# All traffic stays on 127.0.0.1 apart from the package downloads of the base and the build.
set -euo pipefail

cd "$(dirname "$0")/.."

BASE_IMAGE=localhost/gatehouse-debian-base:latest
IMAGE=localhost/gatehouse:smoke
NAME=gatehouse-smoke
DB=gatehouse_container
PG=${GATEHOUSE_SMOKE_PG:-postgres://postgres@127.0.0.1:5432}
PORT=${GATEHOUSE_SMOKE_PORT:-18080}
SUITE=${GATEHOUSE_SMOKE_SUITE:-bookworm}
URL="http://127.0.0.1:${PORT}"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'container-smoke: %s\n' "$*" >&2; exit 1; }

for tool in podman curl psql node; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install -y podman debootstrap curl postgresql-client)"
done

# Options for every container podman starts here (build steps included):
# - runc where it is installed: crun (Debian's default) refuses a cgroup v1/v2 hybrid host whose
#   cgroup2 hierarchy has a controller ("cgroups in hybrid mode not supported"); runc runs there.
# - rlimits no higher than this shell's own hard limits: podman's defaults (nofile 1048576, nproc
#   4194304) need CAP_SYS_RESOURCE to set, which a confined root may lack ("setrlimit
#   RLIMIT_NOFILE: Operation not permitted").
RUNTIME_OPTS=()
if [ -n "${GATEHOUSE_SMOKE_RUNTIME:-}" ]; then
  RUNTIME_OPTS+=(--runtime "$GATEHOUSE_SMOKE_RUNTIME")
elif command -v runc >/dev/null; then
  RUNTIME_OPTS+=(--runtime runc)
fi
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
[ "$nofile" = unlimited ] && nofile=1048576
RUNTIME_OPTS+=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

cleanup() {
  podman rm --force --ignore --time 5 "$NAME" >/dev/null 2>&1 || true
  psql "$PG/postgres" -qAt -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The first Debian mirror apt uses here (deb822 `URIs:` or one-line `deb` entries).
debian_mirror() {
  if [ -n "${GATEHOUSE_SMOKE_MIRROR:-}" ]; then
    echo "$GATEHOUSE_SMOKE_MIRROR"
    return
  fi
  local found
  found=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -Ev '^[[:space:]]*#' | grep -Eo 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)
  echo "${found:-http://deb.debian.org/debian}"
}

# A Debian minbase with this machine's Node.js (>= 20) laid out as the official node images lay it
# out: node, npm and the headers under /usr/local, and a `node` user with uid and gid 1000.
# Debian bookworm's own nodejs is 18, below Gatehouse's `engines`; copying the host's Node.js
# needs no download beyond debootstrap's.
build_base() {
  command -v debootstrap >/dev/null || fail "debootstrap is missing (apt-get install -y debootstrap)"
  local node_bin prefix major mirror work
  node_bin=$(readlink -f "$(command -v node)")
  prefix=$(dirname "$(dirname "$node_bin")")
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || fail "the host's Node.js is $(node --version); the image needs 20 or newer"
  [ -f "$prefix/include/node/node.h" ] || fail "no Node.js headers in $prefix/include/node"
  [ -d "$prefix/lib/node_modules/npm" ] || fail "no npm in $prefix/lib/node_modules/npm"
  mirror=$(debian_mirror)
  work=$(mktemp -d /var/tmp/gatehouse-base.XXXXXX)
  step "debootstrap --variant=minbase $SUITE from $mirror"
  debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed (log: $work/debootstrap.log)"; }
  step "adding Node.js $(node --version) from $prefix"
  install -D -m 0755 "$node_bin" "$work/rootfs/usr/local/bin/node"
  mkdir -p "$work/rootfs/usr/local/lib/node_modules" "$work/rootfs/usr/local/include"
  cp -a "$prefix/lib/node_modules/npm" "$work/rootfs/usr/local/lib/node_modules/npm"
  cp -a "$prefix/include/node" "$work/rootfs/usr/local/include/node"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
  chroot "$work/rootfs" groupadd --gid 1000 node
  chroot "$work/rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  chroot "$work/rootfs" node --version >/dev/null || fail "node does not run in the new root"
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/var/cache/apt/archives/"*.deb
  step "podman import -> $BASE_IMAGE"
  tar -C "$work/rootfs" --numeric-owner -c . |
    podman import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' \
      - "$BASE_IMAGE" >/dev/null
  rm -rf "$work"
}

if [ "${GATEHOUSE_SMOKE_REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$BASE_IMAGE"; then
  build_base
fi
echo "base: $BASE_IMAGE ($(podman run --rm "${RUNTIME_OPTS[@]}" "$BASE_IMAGE" node --version))"

step "podman build --build-arg BASE_IMAGE=$BASE_IMAGE -t $IMAGE"
# --format docker keeps the HEALTHCHECK (the OCI image format has no field for it); the build
# reaches Debian's mirror and the npm registry through the host's network, trusting the host's
# certificate bundle (the `ca` build secret) in case a TLS-inspecting proxy sits in between.
SECRET_OPTS=()
[ -s /etc/ssl/certs/ca-certificates.crt ] && SECRET_OPTS+=(--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt)
timeout 1200 podman build --format docker --network host "${RUNTIME_OPTS[@]}" "${SECRET_OPTS[@]}" \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" .
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$IMAGE"

step "fresh database $DB"
cleanup
psql "$PG/postgres" -qAt -c "CREATE DATABASE $DB"

step "podman run --read-only --user node:node --network host"
KEY_SECRET=$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))')
podman run --detach --name "$NAME" "${RUNTIME_OPTS[@]}" \
  --read-only --user node:node --cap-drop all --security-opt no-new-privileges \
  --network host \
  --env GATEHOUSE_HOST=127.0.0.1 \
  --env "GATEHOUSE_PORT=$PORT" \
  --env "GATEHOUSE_PUBLIC_URL=$URL" \
  --env "GATEHOUSE_DATABASE_URL=$PG/$DB" \
  --env "GATEHOUSE_KEY_SECRET=$KEY_SECRET" \
  "$IMAGE" serve --workers 1 >/dev/null
podman inspect --format 'user={{.Config.User}} read-only={{.HostConfig.ReadonlyRootfs}}' "$NAME"

# Bounded wait for the first readiness answer (60 tries, 1 s apart).
ready=
for _ in $(seq 60); do
  if curl -fsS --max-time 2 "$URL/readyz" >/dev/null 2>&1; then ready=1; break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$NAME")" = true ] || break
  sleep 1
done
if [ -z "$ready" ]; then
  podman logs "$NAME" 2>&1 | tail -n 30 >&2
  fail "the container did not become ready on $URL/readyz"
fi
echo "GET /readyz: $(curl -sS --max-time 5 "$URL/readyz")"
echo "process user inside: $(podman exec "$NAME" id)"

step "gatehouse env create / client create inside the container"
podman exec "$NAME" gatehouse env create PRODUCTION
CLIENT=$(podman exec "$NAME" gatehouse client create --env PRODUCTION --name "container smoke" \
  --scope invoices:read --json)
CLIENT_ID=$(printf '%s' "$CLIENT" | node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>process.stdout.write(JSON.parse(s).client_id))')
CLIENT_SECRET=$(printf '%s' "$CLIENT" | node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>process.stdout.write(JSON.parse(s).client_secret))')
echo "client_id: $CLIENT_ID"

step "token through the container"
echo "curl -u \"$CLIENT_ID:…\" -d grant_type=client_credentials -d scope=invoices:read $URL/envs/PRODUCTION/token"
TOKEN=$(curl -sS --max-time 10 -u "$CLIENT_ID:$CLIENT_SECRET" \
  -d grant_type=client_credentials -d scope=invoices:read "$URL/envs/PRODUCTION/token")
# The access token itself is shortened: the rest of the answer is printed as it came.
printf '%s\n' "$TOKEN" | sed -E 's/"access_token":"([^"]{12})[^"]*"/"access_token":"\1…"/'
printf '%s' "$TOKEN" | grep -q '"token_type":"Bearer"' || fail "no token"

step "HEALTHCHECK"
podman inspect --format '{{json .Config.Healthcheck}}' "$NAME"
podman healthcheck run "$NAME" && echo "podman healthcheck run: healthy (exit 0)"
podman inspect --format 'health: {{.State.Health.Status}}' "$NAME"
[ "$(podman inspect --format '{{.State.Health.Status}}' "$NAME")" = healthy ] || fail "not healthy"

step "read-only root filesystem"
if podman exec "$NAME" sh -c 'touch /app/probe' 2>/dev/null; then fail "/app is writable"; fi
echo "touch /app/probe: refused (read-only)"

printf '\ncontainer-smoke: passed\n'
