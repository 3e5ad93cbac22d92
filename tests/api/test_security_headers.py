"""Every response carries the security headers: a content security policy that fits the web
app (and a looser one for the API documentation pages that load from their CDN), no
sniffing, no framing; HSTS only over HTTPS."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from backend.api.security import APP_CSP, DOCS_CSP


async def test_api_and_app_responses_carry_the_headers(client: httpx.AsyncClient) -> None:
    for path, status in (("/healthz", 200), ("/api/v1/users/me", 401),
                         ("/api/v1/clips/999", 401), ("/", 200)):
        resp = await client.get(path)
        assert resp.status_code == status, path
        assert resp.headers["x-content-type-options"] == "nosniff", path
        assert resp.headers["x-frame-options"] == "DENY", path
        assert resp.headers["content-security-policy"] == APP_CSP, path
        assert "frame-ancestors 'none'" in APP_CSP and "script-src 'self'" in APP_CSP
        assert "strict-transport-security" not in resp.headers  # plain HTTP
    docs = await client.get("/docs")
    assert docs.headers["content-security-policy"] == DOCS_CSP


async def test_hsts_over_https(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://stridelab.example") as client:
        resp = await client.get("/healthz")
    assert resp.headers["strict-transport-security"].startswith("max-age=31536000")
