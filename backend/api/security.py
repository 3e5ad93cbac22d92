"""Security headers on every response (pure ASGI, so streamed responses such as server-sent
events and video ranges pass through untouched).

The content security policy fits the web app (a PWA served from this origin: its scripts,
styles, service worker, manifest, blob: previews of a clip being recorded, data: icons) and
nothing else; the API documentation pages load Swagger UI and ReDoc from their CDN and get a
policy that allows it. HSTS only over HTTPS (behind a TLS-terminating proxy, uvicorn's
``--proxy-headers`` makes the scheme https)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

APP_CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    # Inline style attributes (components set sizes and colours); no inline scripts.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = "; ".join([
    "default-src 'self'",
    f"script-src 'self' 'unsafe-inline' {DOCS_CDN}",
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN} https://fonts.googleapis.com",
    "font-src 'self' https://fonts.gstatic.com",
    "img-src 'self' data: https://fastapi.tiangolo.com",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
])
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000; includeSubDomains"

COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else APP_CSP
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [*COMMON, (b"content-security-policy", csp.encode())]
                if https:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
