# syntax=docker/dockerfile:1
# streams-worker image: one image for the worker (default), the producer
# (`streams-producer ...`) and the ops CLI (`streams-worker pending ...`).
#
#   docker build -t streams-worker .
#   docker run --rm -e REDIS_URL=redis://redis:6379/0 streams-worker          # a worker
#   docker run --rm streams-worker --help
#
# Stage 1 installs the locked dependencies (requirements/image.lock, hashes
# required) and the project's wheel into a venv that has no pip; stage 2 copies only
# that venv onto a clean slim image. The SBOM of what it installs is
# requirements/image.cdx.json (CycloneDX, generated from the lock by `make lock`).

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# Dependencies first, exactly as pinned (with hashes) in requirements/image.lock
# (`make lock`: the [server], [enrichment], [console] and [otel] extras, nothing else):
# every build of one commit installs the same files, and a source edit reuses this
# layer. Tracing stays off until OTEL_* is set (docs/tracing.md). The pip cache lives
# in a BuildKit cache mount, never in a layer.
COPY requirements/image.lock ./requirements/
RUN --mount=type=cache,target=/root/.cache/pip \
    python -m venv --without-pip /opt/venv \
 && pip --python /opt/venv/bin/python install --compile --no-deps --require-hashes \
      -r requirements/image.lock
COPY pyproject.toml README.md ./
COPY streams_worker ./streams_worker
COPY producer ./producer
# Then the project's own wheel, without resolving anything again (--no-deps).
# hadolint ignore=DL3013
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --no-deps --wheel-dir /dist . \
 && pip --python /opt/venv/bin/python install --compile --no-deps /dist/*.whl

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="streams-worker" \
      org.opencontainers.image.description="Redis Streams consumer-group worker and producer" \
      org.opencontainers.image.licenses="MIT"
# A fixed numeric user, so Kubernetes can verify runAsNonRoot without a passwd lookup;
# the base image's own pip/setuptools go too: nothing installs anything at run time.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin app \
 && python -m pip uninstall --yes --quiet pip setuptools wheel
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WORKER_LOG_FORMAT=json \
    WORKER_HTTP_PORT=8000
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000 8001
# Liveness of the worker's loops (not Redis reachability). Containers running the
# producer override this with their own port; python is enough, no curl needed.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WORKER_HTTP_PORT', '8000'), timeout=4)"]
# Exec form, no shell in between: Python is PID 1 and receives SIGTERM itself;
# the worker installs its handler and drains within WORKER_SHUTDOWN_GRACE_S.
ENTRYPOINT ["streams-worker"]
CMD ["run"]
