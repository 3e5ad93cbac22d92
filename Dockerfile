# StrideLab server image: API, worker, web app and the provisioned pose model.
FROM python:3.11-slim-bookworm AS app

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STRIDELAB_DATA_DIR=/data STRIDELAB_ENVIRONMENT=production

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY backend ./backend
COPY ml_models ./ml_models
COPY migrations ./migrations
COPY frontend ./frontend
RUN pip install . && python -m ml_models.provision \
    && rm -rf ml_models/.cache

RUN useradd --create-home --uid 10001 stridelab && mkdir -p /data && chown stridelab /data
USER stridelab
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# PostgreSQL deployments run `stridelab db upgrade` as a release step before starting.
CMD ["stridelab", "serve", "--host", "0.0.0.0", "--port", "8000"]
