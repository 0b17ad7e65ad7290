#!/usr/bin/env bash
# Build the gate's image with podman from a Debian root made by debootstrap (no container registry needed), then run
# it once on the host's loopback: migrate, seed demo data, serve, /healthz, a signed store upload, the HEALTHCHECK.
# Needs root, podman, buildah, debootstrap. docs/deploy.md ("Built and run on this project's machines") explains it.
#
#   deploy/build-image.sh                 # image localhost/filing-gate:dev
#   IMAGE=localhost/filing-gate:1.0 deploy/build-image.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=${BASE_IMAGE:-localhost/debian:bookworm}
IMAGE=${IMAGE:-localhost/filing-gate:dev}
# crun refuses hosts in cgroup "hybrid" mode: build with chroot isolation, run with runc. The container may not
# raise resource limits here: give it the host's open-file limit and a lower process limit instead of podman's.
command -v runc >/dev/null 2>&1 || apt-get install -y -qq runc >/dev/null
RUN_OPTS=(--runtime "$(command -v runc)" --network=host --ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)"
          --ulimit nproc=4096:4096)

if ! podman image exists "$BASE_IMAGE"; then
  root=$(mktemp -d /tmp/gate-debian-XXXXXX)
  # The apt mirror this host uses (deb822 .sources or a one-line sources.list), so no other network is needed.
  mirror=$(grep -hoE '^(URIs:|deb) +http[^ ]*/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* \
             2>/dev/null | head -n 1 | awk '{print $2}')
  debootstrap --variant=minbase bookworm "$root" "${mirror:-http://deb.debian.org/debian}"
  tar -C "$root" -c . | podman import - "$BASE_IMAGE"
  rm -rf "$root"
fi

build_args=(--build-arg "BASE=$BASE_IMAGE")
volumes=()
# A TLS-inspecting proxy between this host and PyPI: give pip the host's CA bundle for the build.
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
  volumes=(-v "$PIP_CERT:/etc/ssl/host-ca.crt:ro")
  build_args+=(--build-arg PIP_CERT=/etc/ssl/host-ca.crt)
fi
podman build --format docker --isolation=chroot --network=host "${build_args[@]}" "${volumes[@]}" -t "$IMAGE" .

# --- smoke run, loopback only -------------------------------------------------------------------------------------
data=$(mktemp -d /tmp/gate-image-XXXXXX)
chown 10001 "$data"
name="gate-smoke-$$"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env=(-e "GATE_DATABASE_URL=sqlite:////data/gate.db" -v "$data:/data")
cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$data"; }
trap cleanup EXIT

podman run --rm "${RUN_OPTS[@]}" "${env[@]}" "$IMAGE" id
podman run --rm "${RUN_OPTS[@]}" "${env[@]}" "$IMAGE" gate db upgrade
podman run --rm "${RUN_OPTS[@]}" "${env[@]}" "$IMAGE" gate demo > "$data/credentials.jsonl"
# The image's own command (gate serve, gthread), told to listen on the host's loopback only.
podman run -d --name "$name" "${RUN_OPTS[@]}" "${env[@]}" -e HOST=127.0.0.1 -e "PORT=$port" "$IMAGE" >/dev/null
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null && echo && break
  sleep 0.5
done
# A store upload of the bundled example APK, signed with the demo store's webhook secret, from inside the image.
podman exec -i "$name" python3 - "$port" <<'EOF'
import json, sys, requests
from gate.platform_hooks.signatures import HEADER, sign
store = [c for c in map(json.loads, open("/data/credentials.jsonl")) if c["role"] == "store"][0]
prepared = requests.Request("POST", "http://x/", files={"package": (
    "hello_zh.apk", open("/opt/gate/examples/hello_zh.apk", "rb").read(), "application/vnd.android.package-archive")}
).prepare()
r = requests.post(f"http://127.0.0.1:{sys.argv[1]}/api/v1/hooks/store/upload", data=prepared.body, timeout=60,
                  headers={"Authorization": f"Bearer {store['api_key']}", "Content-Type": prepared.headers["Content-Type"],
                           HEADER: sign(prepared.body, store["webhook_secret"])})
print(r.status_code, r.json()["verdict"], r.json()["filing"]["service_licence"])
assert r.status_code == 200 and r.json()["verdict"] == "allow", r.text
EOF
podman healthcheck run "$name"  # the image's HEALTHCHECK command; fails the script unless healthy
echo "HEALTHCHECK: healthy"
podman image inspect "$IMAGE" --format 'image {{.Id}} user={{.Config.User}} size={{.Size}}'
echo "OK: $IMAGE built and served on 127.0.0.1:$port"
