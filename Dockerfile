# The filing gate's production image (docs/deploy.md). One image, several roles: the default command is the HTTP
# service (`gate serve`, gunicorn with uvicorn workers); `gate worker`, `gate scheduler` and `gate db upgrade` run from the
# same image with another command (compose.yaml runs all four against PostgreSQL).
#
# BASE is any Debian bookworm image: python:3.11-slim by default; a plain Debian root (e.g. one made with
# debootstrap, deploy/build-image.sh) works too, it gets Debian's python3 (3.11 as well) installed below. Both stages
# apply Debian's pending (security) updates and leave no apt lists or package caches behind.
ARG BASE=python:3.11-slim

# --- build: the gate as a wheel, installed with its dependencies into a virtual environment at /opt/gate ---------
FROM ${BASE} AS build
# PIP_CERT / PIP_INDEX_URL: a CA bundle or a mirror for pip where the network to PyPI goes through a proxy
# (deploy/build-image.sh passes the host's bundle); unset, pip uses its own CA bundle and PyPI.
ARG PIP_CERT
ARG PIP_INDEX_URL
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# gcc and the C library headers build the network scanner's compiled core (setup.py) into the wheel; the
# python image ships Python's headers, Debian's python3 needs python3-dev. Only this stage has them.
RUN apt-get update && apt-get -y upgrade \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then \
      apt-get install -y --no-install-recommends python3 python3-venv python3-dev ca-certificates; \
    fi \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE fdroid_gate.py ./
COPY gate ./gate
RUN python3 -m venv /opt/gate \
    && /opt/gate/bin/pip install --upgrade pip wheel \
    && /opt/gate/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/gate/bin/pip install /wheels/filing_gate-*.whl \
    && /opt/gate/bin/gate --help >/dev/null \
    && /opt/gate/bin/python -c 'from gate.extract.network import core; assert core.compiled_core, "not compiled"'

# --- runtime: the virtual environment only, run by an unprivileged user ------------------------------------------
FROM ${BASE} AS runtime
# Security updates at build time: rebuild the image to take new ones (docs/deploy.md "Updates").
RUN apt-get update && apt-get -y upgrade \
    && if ! command -v python3 >/dev/null 2>&1; then \
      apt-get install -y --no-install-recommends python3 ca-certificates; \
    fi \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/gate --create-home --shell /usr/sbin/nologin gate \
    && mkdir -p /var/lib/gate/spool && chown gate:gate /var/lib/gate/spool
COPY --from=build /opt/gate /opt/gate
# The bundled example package (also inside the wheel), so `gate features /opt/gate/examples/hello_zh.apk` reads a
# real APK; and the per-role health check.
COPY gate/examples/hello_zh.apk /opt/gate/examples/hello_zh.apk
COPY deploy/healthcheck.py /opt/gate/healthcheck.py

# HOST/PORT: where `gate serve` listens (the default command and the HEALTHCHECK read them).
ENV PATH=/opt/gate/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8000 \
    GATE_DATABASE_URL=sqlite:////var/lib/gate/gate.db GATE_SPOOL_DIR=/var/lib/gate/spool
USER gate
WORKDIR /var/lib/gate
VOLUME ["/var/lib/gate/spool"]
EXPOSE 8000
# Per role (deploy/healthcheck.py): `gate serve` answers /healthz (a database round trip); `gate worker` and
# `gate scheduler` reach their database at the right schema; a one-shot command is healthy while it runs.
HEALTHCHECK --interval=30s --timeout=8s --start-period=60s --retries=3 CMD ["python3", "/opt/gate/healthcheck.py"]
# On SIGTERM gunicorn finishes the requests in flight for up to 30 s (an upload included): stop containers with a
# longer grace period (`docker stop -t 40`, compose.yaml's stop_grace_period), or they are killed mid-request.
STOPSIGNAL SIGTERM
# The database is migrated by someone else (`gate db upgrade`, compose.yaml's `migrate` service): wait for it rather
# than exit and be restarted in a loop. A proxy that terminates TLS stands in front (GATE_PROXY_HOPS=1); the
# container listens on all of its own addresses.
ENV SCHEMA_WAIT_SECONDS=300
CMD ["sh", "-c", "gate db wait --timeout \"$SCHEMA_WAIT_SECONDS\" && exec gate serve --host \"$HOST\" --port \"$PORT\" --workers 2 --threads 8"]
