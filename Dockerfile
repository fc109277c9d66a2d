# engage-sync processes (worker, writer, poller, topics, settings) in one image;
# the command picks the role: `docker run IMAGE worker`.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY engage_sync ./engage_sync
COPY streams ./streams
COPY connectors ./connectors
COPY sandbox ./sandbox
COPY schemas ./schemas
# Editable on purpose: the code finds schemas/ next to its packages (serde.SCHEMA_DIR),
# which a plain `pip install .` into site-packages would leave behind.
RUN pip install --no-cache-dir -e . && useradd --system --uid 10001 engage
USER 10001
# /metrics and /healthz: worker, writer, poller (METRICS_PORT overrides).
EXPOSE 9101 9102 9103
ENTRYPOINT ["engage-sync"]
