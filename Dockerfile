# engage-sync processes (worker, writer, poller, topics, settings) in one image;
# the command picks the role: `docker run IMAGE worker`.
# Two stages: `build` turns the source into wheels (ours and every dependency's);
# the final stage installs those wheels only: no source tree, no compilers, no editable
# install. Schemas and the example settings travel inside our wheel as package data.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY engage_sync ./engage_sync
COPY streams ./streams
COPY connectors ./connectors
COPY domain ./domain
COPY ground ./ground
COPY sandbox ./sandbox
COPY schemas ./schemas
# A dependency without a wheel for this platform would be built here, where a compiler
# may be added; the final stage then needs none.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:${PYTHON_VERSION}-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels \
        /wheels/engage_sync-*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --create-home --home-dir /home/engage engage
USER 10001
# Writable, for the state a process keeps under `.engage-sync/` by default.
WORKDIR /home/engage
# /metrics and /healthz: worker, writer, poller (METRICS_PORT overrides).
EXPOSE 9101 9102 9103
ENTRYPOINT ["engage-sync"]
