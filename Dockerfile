# StrideLab server image: API, worker, web app and the provisioned pose model.

# The web app is built in its own stage (Node.js); only its dist/ reaches the server image.
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
# The sources only (never a checkout's own node_modules or dist).
COPY frontend/index.html frontend/vite.config.ts frontend/tsconfig.json ./
COPY frontend/scripts ./scripts
COPY frontend/src ./src
RUN npm run build

FROM python:3.11-slim-bookworm AS app

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STRIDELAB_DATA_DIR=/data STRIDELAB_ENVIRONMENT=production \
    STRIDELAB_FRONTEND_DIR=/app/frontend

WORKDIR /app
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY ml_models ./ml_models
COPY --from=web /web/dist ./frontend/dist
# The installed package is what runs: the migrations ship inside it (backend/migrations), and
# the models are provisioned into the installed ml_models package (run from / so that the
# source copy in /app is not the one imported), which is where the settings look by default.
RUN pip install . && cd / && python -m ml_models.provision \
    && python -c "import ml_models, pathlib, shutil; shutil.rmtree(pathlib.Path(ml_models.__file__).parent / '.cache', ignore_errors=True)" \
    && rm -rf /app/backend /app/ml_models

RUN useradd --create-home --uid 10001 stridelab && mkdir -p /data && chown stridelab /data
USER stridelab
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# PostgreSQL deployments run `stridelab db upgrade` as a release step before starting.
CMD ["stridelab", "serve", "--host", "0.0.0.0", "--port", "8000"]
