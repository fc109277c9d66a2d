# engage-sync processes (worker, writer, sandbox) in one image; the command picks the role.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY engage_sync ./engage_sync
COPY streams ./streams
COPY connectors ./connectors
COPY sandbox ./sandbox
COPY schemas ./schemas
RUN pip install --no-cache-dir . && useradd --system --uid 10001 engage
USER engage
ENTRYPOINT ["engage-sync"]
