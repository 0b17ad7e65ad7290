#!/usr/bin/env bash
# Build the gate's image with podman from a Debian root made by debootstrap (no container registry needed), then run
# it on the host's loopback: no pending security updates and no apt caches in the image; the server waits for the
# schema, then migrate, demo data, /healthz, a signed store upload; health of a server and of a worker; a clean stop
# during an upload; a spool backup and restore. Needs root, podman, buildah, debootstrap, curl.
# docs/deploy.md ("Built and run on this project's machines") explains it.
#
#   deploy/build-image.sh                 # image localhost/filing-gate:dev
#   IMAGE=localhost/filing-gate:1.0 deploy/build-image.sh
#   SMOKE_ONLY=1 deploy/build-image.sh    # the smoke run of an image already built
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-localhost/debian:bookworm}
IMAGE=${IMAGE:-localhost/filing-gate:dev}
# crun refuses hosts in cgroup "hybrid" mode: build with chroot isolation, run with runc. The container may not
# raise resource limits here: give it the host's open-file limit and a lower process limit instead of podman's.
command -v runc >/dev/null 2>&1 || apt-get install -y -qq runc >/dev/null
RUN_OPTS=(--runtime "$(command -v runc)" --network=host --ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)"
          --ulimit nproc=4096:4096)
fail() { echo "FAILED: $*" >&2; exit 1; }

# The apt mirror this host uses (deb822 .sources or one-line .list files, whichever exist), so no other network is
# needed; Debian's own mirror otherwise. Missing files are skipped (a grep of them would stop the script).
host_mirror() {
  local sources=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sources+=("$f")
  done
  if [ ${#sources[@]} -gt 0 ]; then
    grep -hoE '^(URIs:|deb) +http[^ ]*/debian/?( |$)' "${sources[@]}" 2>/dev/null | head -n 1 | awk '{print $2}' || true
  fi
}

build_base() {
  local root mirror
  root=$(mktemp -d /tmp/gate-debian-XXXXXX)
  mirror=$(host_mirror)
  mirror=${mirror:-http://deb.debian.org/debian}
  mirror=${mirror%/}
  echo "base: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror"
  # debootstrap writes only "bookworm main": add the updates and security suites, so the image build takes them.
  rm -f "$root/etc/apt/sources.list"
  cat > "$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $mirror-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
  tar -C "$root" -c . | podman import - "$BASE_IMAGE"
  rm -rf "$root"
}

if [ -z "${SMOKE_ONLY:-}" ]; then
  podman image exists "$BASE_IMAGE" || build_base
  build_args=(--build-arg "BASE=$BASE_IMAGE")
  volumes=()
  # A TLS-inspecting proxy between this host and PyPI: give pip the host's CA bundle for the build.
  if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
    volumes=(-v "$PIP_CERT:/etc/ssl/host-ca.crt:ro")
    build_args+=(--build-arg PIP_CERT=/etc/ssl/host-ca.crt)
  fi
  podman build --format docker --isolation=chroot --network=host "${build_args[@]}" "${volumes[@]}" -t "$IMAGE" .
fi

# --- smoke run, loopback only -------------------------------------------------------------------------------------
data=$(mktemp -d /tmp/gate-image-XXXXXX)
mkdir -p "$data/spool"
chown 10001:10001 "$data" "$data/spool"
name="gate-smoke-$$"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The spool is a host folder here (as compose's is a named volume): no run leaves an anonymous volume behind.
env=(-e "GATE_DATABASE_URL=sqlite:////data/gate.db" -v "$data:/data" -v "$data/spool:/var/lib/gate/spool")
cleanup() {
  podman rm -f -v "$name" "$name-worker" >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT
healthy() { podman healthcheck run "$1" >/dev/null 2>&1; }
run() { podman run --rm "${RUN_OPTS[@]}" "${env[@]}" "$@"; }

run "$IMAGE" id
# 1. Security updates applied at build time; no apt lists or package caches left in the image.
pending=$(podman run --rm --user 0 "${RUN_OPTS[@]}" "$IMAGE" \
  sh -c 'apt-get update -qq >/dev/null 2>&1 && apt-get -s upgrade | grep -c "^Inst" || true')
[ "$pending" = 0 ] || fail "$pending package updates pending in the image"
caches=$(run "$IMAGE" sh -c 'du -sk /var/lib/apt/lists /var/cache/apt | awk "{s += \$1} END {print s}"')
[ "$caches" -lt 1024 ] || fail "apt lists and caches hold $caches KiB"
echo "updates: none pending; apt lists and caches: $caches KiB"

# 2. The image's own command, started before the schema exists, waits for it (no crash loop) and then serves.
podman run -d --name "$name" "${RUN_OPTS[@]}" "${env[@]}" -e HOST=127.0.0.1 -e "PORT=$port" "$IMAGE" >/dev/null
sleep 3
[ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] || fail "gate serve exited without a schema"
podman logs "$name" 2>&1 | grep -q "waiting for the database" || fail "gate serve did not say that it waits"
run "$IMAGE" gate db upgrade
# gate demo prints the clients' secrets on stdout and the console password on stderr: both go to the data folder.
run "$IMAGE" gate demo > "$data/credentials.jsonl" 2> "$data/demo.log"
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null && echo && break
  sleep 0.5
done

# 3. A store upload of the bundled example APK, signed with the demo store's webhook secret, from inside the image.
podman exec -i "$name" python3 - "$port" <<'PYTHON'
import json, sys, requests
from gate.services.signatures import HEADER, sign
store = [c for c in map(json.loads, open("/data/credentials.jsonl")) if c["role"] == "store"][0]
prepared = requests.Request("POST", "http://x/", files={"package": (
    "hello_zh.apk", open("/opt/gate/examples/hello_zh.apk", "rb").read(), "application/vnd.android.package-archive")}
).prepare()
r = requests.post(f"http://127.0.0.1:{sys.argv[1]}/api/v1/hooks/store/upload", data=prepared.body, timeout=60,
                  headers={"Authorization": f"Bearer {store['api_key']}", "Content-Type": prepared.headers["Content-Type"],
                           HEADER: sign(prepared.body, store["webhook_secret"])})
print(r.status_code, r.json()["verdict"], r.json()["filing"]["service_licence"])
assert r.status_code == 200 and r.json()["verdict"] == "allow", r.text
PYTHON

# 4. Health per role (deploy/healthcheck.py): the server's /healthz; a worker's database at the right schema.
podman run -d --name "$name-worker" "${RUN_OPTS[@]}" "${env[@]}" "$IMAGE" sh -c 'gate db wait && exec gate worker' \
  >/dev/null
for _ in $(seq 1 60); do healthy "$name-worker" && break; sleep 1; done
healthy "$name" || fail "the server's HEALTHCHECK"
healthy "$name-worker" || fail "the worker's HEALTHCHECK"
echo "HEALTHCHECK: server healthy, worker healthy"
podman stop -t 40 "$name-worker" >/dev/null

# 5. A clean stop during an upload: a slow developer upload is in flight when the container is stopped; gunicorn
#    finishes it (30 s graceful, under the 40 s stop timeout) and the container exits 0, not 137.
dev_key=$(python3 -c 'import json, sys
print([c for c in map(json.loads, open(sys.argv[1])) if c["role"] == "developer"][0]["api_key"])' "$data/credentials.jsonl")
curl -sS --limit-rate 2k -o "$data/slow-upload.json" -w '%{http_code}' -H "Authorization: Bearer $dev_key" \
  -F "package=@gate/examples/hello_zh.apk" "http://127.0.0.1:$port/api/v1/checks" > "$data/slow-upload.status" &
upload=$!
sleep 2
podman stop -t 40 "$name" >/dev/null
wait "$upload" || fail "the upload in flight was cut by the stop"
[ "$(cat "$data/slow-upload.status")" = 200 ] && grep -q '"verdict"' "$data/slow-upload.json" \
  || fail "the upload in flight was answered $(cat "$data/slow-upload.status"): $(cat "$data/slow-upload.json")"
code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "gate serve exited $code on stop"
echo "stop: the upload in flight was answered, gate serve exited 0"

# 6. Spool backup and restore as docs/deploy.md writes them: tar runs as the gate user inside the image and streams
#    the archive through the operator's shell, so neither side needs the other's uid.
run "$IMAGE" sh -c 'echo queued > /var/lib/gate/spool/smoke-marker'
run -i --entrypoint tar "$IMAGE" -C /var/lib/gate/spool -czf - . > "$data/spool-backup.tar.gz"
run "$IMAGE" rm /var/lib/gate/spool/smoke-marker
run -i --entrypoint tar "$IMAGE" -C /var/lib/gate/spool -xzf - < "$data/spool-backup.tar.gz"
[ "$(cat "$data/spool/smoke-marker")" = queued ] || fail "the restored spool lacks what was backed up"
echo "spool: backed up and restored"

podman image inspect "$IMAGE" --format 'image {{.Id}} user={{.Config.User}} size={{.Size}}'
echo "OK: $IMAGE built and smoke-tested on 127.0.0.1:$port"
