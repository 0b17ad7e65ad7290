# The gate with its server on the embedded default: SQLite and demo data. Production runs several containers of
# this image against PostgreSQL (GATE_DATABASE_URL) with `gate worker` as a second process or container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY gate ./gate
RUN pip install . && useradd --create-home --uid 10001 gate

# The bundled example package, so `docker run IMAGE gate features /app/examples/hello_zh.apk` shows a real APK.
COPY fixtures/apks/hello_zh.apk /app/examples/hello_zh.apk

USER gate
WORKDIR /home/gate
ENV GATE_DATABASE_URL=sqlite:////home/gate/gate.db GATE_SPOOL_DIR=/home/gate/spool
EXPOSE 8000
# Demo credentials are printed once, on the first start (docker logs).
CMD ["sh", "-c", "mkdir -p \"$GATE_SPOOL_DIR\" && gate db upgrade && gate demo && (gate worker &) && exec gate serve --host 0.0.0.0 --port 8000"]
