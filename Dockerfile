# A first working image of the gate: the CLI with its dependencies. The server and worker arrive with the HTTP issue.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY gate ./gate
RUN pip install . && useradd --create-home --uid 10001 gate

# The bundled example package, so `docker run IMAGE` shows the facts of a real APK.
COPY fixtures/apks/hello_zh.apk /app/examples/hello_zh.apk

USER gate
WORKDIR /home/gate
ENTRYPOINT ["gate"]
CMD ["features", "/app/examples/hello_zh.apk"]
