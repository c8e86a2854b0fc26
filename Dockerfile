# The newsmon worker image: used by docker-compose.yml for the worker and beat.
FROM python:3.11-slim
RUN useradd --create-home newsmon
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY rules ./rules
RUN pip install --no-cache-dir -e ".[ops]"
USER newsmon
ENV PYTHONUNBUFFERED=1
CMD ["celery", "-A", "worker", "worker", "--loglevel", "INFO"]
