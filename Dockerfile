# The filing gate's production image (docs/deploy.md). One image, several roles: the default command is the HTTP
# service (`gate serve`, gunicorn gthread workers); `gate worker`, `gate scheduler` and `gate db upgrade` run from the
# same image with another command (compose.yaml runs all four against PostgreSQL).
#
# BASE is any Debian bookworm image: python:3.11-slim by default; a plain Debian root (e.g. one made with
# debootstrap, deploy/build-image.sh) works too, it gets Debian's python3 (3.11 as well) installed below.
ARG BASE=python:3.11-slim

# --- build: the gate as a wheel, installed with its dependencies into a virtual environment at /opt/gate ---------
FROM ${BASE} AS build
# PIP_CERT / PIP_INDEX_URL: a CA bundle or a mirror for pip where the network to PyPI goes through a proxy
# (deploy/build-image.sh passes the host's bundle); unset, pip uses its own CA bundle and PyPI.
ARG PIP_CERT
ARG PIP_INDEX_URL
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gate ./gate
RUN python3 -m venv /opt/gate \
    && /opt/gate/bin/pip install --upgrade pip wheel \
    && /opt/gate/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/gate/bin/pip install /wheels/filing_gate-*.whl \
    && /opt/gate/bin/gate --help >/dev/null

# --- runtime: the virtual environment only, run by an unprivileged user ------------------------------------------
FROM ${BASE} AS runtime
RUN if ! command -v python3 >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends python3 ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/gate --create-home --shell /usr/sbin/nologin gate \
    && mkdir -p /var/lib/gate/spool && chown gate:gate /var/lib/gate/spool
COPY --from=build /opt/gate /opt/gate
# The bundled example package, so `gate features /opt/gate/examples/hello_zh.apk` shows a real APK.
COPY fixtures/apks/hello_zh.apk /opt/gate/examples/hello_zh.apk

# HOST/PORT: where `gate serve` listens (the default command and the HEALTHCHECK read them).
ENV PATH=/opt/gate/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000 \
    GATE_DATABASE_URL=sqlite:////var/lib/gate/gate.db GATE_SPOOL_DIR=/var/lib/gate/spool
USER gate
WORKDIR /var/lib/gate
VOLUME ["/var/lib/gate/spool"]
EXPOSE 8000
# /healthz makes a database round trip: an instance that lost its database is reported unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"]
# The database must be migrated first (`gate db upgrade`, compose.yaml's `migrate` service). A proxy that terminates
# TLS stands in front (GATE_PROXY_HOPS=1); the container listens on all of its own addresses.
CMD ["sh", "-c", "exec gate serve --host \"$HOST\" --port \"$PORT\" --workers 2 --threads 8"]
