"""The FastAPI application: routers of each domain under /api/v1, errors, health, the web app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

import backend
import backend.models  # every table in the metadata (the export reads them all)
from backend.accounts.router import auth_router, users_router
from backend.admin.router import admin_router
from backend.api.security import SecurityHeaders
from backend.clips.router import (
    clips_router,
    coach_clips_router,
    diagnosis_router,
    export_router,
    uploads_router,
)
from backend.clips.storage import get_storage
from backend.clips.tus import CLIP_ID_HEADER, build_tus_router
from backend.coaching.router import coach_router, invites_router, my_coach_router
from backend.core import logs
from backend.core.config import API_PREFIX, Settings, get_settings
from backend.core.db import get_engine
from backend.core.errors import install_error_handlers
from backend.jobs.runtime import JobRuntime
from backend.notifications.router import notifications_router, push_router
from backend.progress.router import progress_router
from backend.training.router import calendar_router, coach_plans_router, plans_router
from backend.wiring import job_runtime

TAGS = [
    {"name": "auth", "description": "Registration and access tokens."},
    {"name": "users", "description": "The logged-in account and the athlete's onboarding profile."},
    {"name": "coach", "description": "Coach invites, rosters and coach-athlete links."},
    {"name": "plans", "description": "Strength plans: versions, session logs, adaptation, "
     "the calendar feed."},
    {"name": "clips", "description": "Clip uploads, analysis progress, reports and media."},
    {"name": "uploads", "description": "Resumable clip uploads (tus 1.0, for tus-js-client)."},
    {"name": "notifications", "description": "The in-app feed, Web Push subscriptions (VAPID) "
     "and notification preferences."},
    {"name": "progress", "description": "Trends across clips and weeks, the coach's dashboard, "
     "the exercise list."},
    {"name": "admin", "description": "Running the service."},
    {"name": "health", "description": "Liveness and readiness."},
]


class Health(BaseModel):
    status: str
    version: str
    database: str


def _operation_id(route: APIRoute) -> str:
    # tag-route_name reads well in generated clients.
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


# Headers a browser app on another origin must read (tus-js-client needs the tus ones).
EXPOSED_HEADERS = ["Location", "Upload-Offset", "Upload-Length", "Upload-Expires",
                   "Upload-Metadata", "Tus-Resumable", "Tus-Version", "Tus-Extension",
                   "Tus-Max-Size", CLIP_ID_HEADER, "Content-Disposition"]


def create_app(settings: Settings | None = None, engine: Engine | None = None, *,
               run_jobs: bool = False) -> FastAPI:
    """The app. ``run_jobs`` starts the embedded job consumer with the app (``stridelab
    serve`` on the embedded default); otherwise the app only queues jobs, and whoever holds
    ``app.state.jobs`` (a worker process, a test) runs them."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # After the server configured its loggers: no secret of a URL reaches the logs.
        logs.install()
        jobs: JobRuntime = app.state.jobs
        if run_jobs:
            await run_in_threadpool(jobs.start)
        try:
            yield
        finally:
            if run_jobs:
                await run_in_threadpool(jobs.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="StrideLab API",
        version=backend.__version__,
        summary="Running-form analysis from phone video, and the strength plans that fix it.",
        openapi_tags=TAGS,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.engine = engine or get_engine()
    app.state.jobs = job_runtime(settings, app.state.engine)
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    # Text (the web app's scripts, JSON) goes compressed to phones; video, images, archives
    # and server-sent events are left as they are (Starlette's default exclusions).
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_credentials=True, allow_methods=["*"], allow_headers=["*"],
                           expose_headers=EXPOSED_HEADERS)

    @app.get("/healthz", tags=["health"], response_model=Health, summary="Liveness and database")
    def healthz() -> Health:
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return Health(status="ok", version=backend.__version__,
                      database=app.state.engine.dialect.name)

    for router in (auth_router, users_router, my_coach_router, coach_router, invites_router,
                   plans_router, coach_plans_router, calendar_router, clips_router,
                   coach_clips_router, uploads_router, export_router, push_router,
                   notifications_router, admin_router, progress_router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(diagnosis_router, prefix=API_PREFIX)
    tus_router, app.state.tus_storage = build_tus_router(settings, get_storage(settings))
    app.include_router(tus_router, prefix=API_PREFIX)

    if settings.resolved_frontend_dir is not None:
        _mount_frontend(app, settings.resolved_frontend_dir)
    return app


# Paths the API owns: an unknown one under these stays a 404, never the web app's index.html.
API_PATHS = (API_PREFIX.strip("/").split("/")[0], "docs", "redoc", "openapi.json", "healthz")


class SinglePageApp(StaticFiles):
    """The built web app: files as they are; any other path that looks like a client-side route
    (no file extension, not the API) gets index.html so that a reload of /plan or /clips/3 works.
    Hashed assets are cached for a year; index.html, the service worker and the manifest are
    revalidated so that a deploy reaches phones on the next visit."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except StarletteHTTPException as exc:
            if exc.status_code != 404 or not _client_route(path):
                raise
            response = await super().get_response("index.html", scope)
        else:
            if response.status_code == 404 and _client_route(path):
                response = await super().get_response("index.html", scope)
        if path.startswith("assets/") and response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        elif response.status_code == 200:
            response.headers["Cache-Control"] = "no-cache"
        return response


def _client_route(path: str) -> bool:
    first = path.strip("/").split("/", 1)[0]
    return first not in API_PATHS and "." not in path.rsplit("/", 1)[-1]


def _mount_frontend(app: FastAPI, directory: Path) -> None:
    built = directory / "dist"
    if built.is_dir():
        app.mount("/", SinglePageApp(directory=built, html=True), name="frontend")
        return
    # A checkout without `make install`'s build: the landing page that points to /docs.
    root = directory / "public"
    if root.is_dir():
        app.mount("/", StaticFiles(directory=root, html=True), name="frontend")
