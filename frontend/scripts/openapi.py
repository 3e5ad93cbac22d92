"""Writes the API's OpenAPI document to src/api/openapi.json, from which `npm run api` generates
the typed client (src/api/schema.d.ts). tests/web/test_api_client.py fails when either is stale.

    python frontend/scripts/openapi.py && (cd frontend && npm run api)
"""

from __future__ import annotations

import json
from pathlib import Path

from backend.api.app import create_app

TARGET = Path(__file__).resolve().parents[1] / "src" / "api" / "openapi.json"


def document() -> str:
    return json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    TARGET.write_text(document(), encoding="utf-8")
    print(f"wrote {TARGET}")
