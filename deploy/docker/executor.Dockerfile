# syntax=docker/dockerfile:1
# Image for one executor worker (RQ); its metrics and health on 9102.
# Build from the repository root: docker build -f deploy/docker/executor.Dockerfile .
# Same pattern for every service: uv installs only this member and its dependencies from the lockfile.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
# Dependencies first, from the lockfile and the members' pyproject files only: this layer survives code edits.
COPY pyproject.toml uv.lock ./
COPY services/core/pyproject.toml services/core/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/approvals/pyproject.toml services/approvals/
COPY services/executor/pyproject.toml services/executor/
COPY services/adsim/pyproject.toml services/adsim/
COPY services/cli/pyproject.toml services/cli/
RUN uv sync --frozen --no-dev --no-cache --no-install-workspace --package spendgate-executor
# Then the sources of the members this image installs.
COPY services/core/ services/core/
COPY services/executor/ services/executor/
RUN uv sync --frozen --no-dev --no-cache --no-editable --package spendgate-executor

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 spendgate \
    && useradd --system --uid 10001 --gid spendgate --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin spendgate
# Owned by root: the service can read its code but never change it.
COPY --from=builder /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 9102
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9102/healthz', timeout=2)"]
ENTRYPOINT ["python", "-m", "spendgate_executor"]
CMD ["--metrics-port", "9102"]
