"""The OpenAPI document is part of the product: tags, summaries, response models, errors."""

from __future__ import annotations

from fastapi import FastAPI


def test_every_operation_is_documented(app: FastAPI) -> None:
    doc = app.openapi()
    tag_names = {t["name"] for t in doc["tags"]}
    op_ids = set()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), f"{where} has no summary"
            assert op.get("tags") and set(op["tags"]) <= tag_names, f"{where}: unknown tags"
            assert op["operationId"] not in op_ids, f"{where}: duplicate operationId"
            op_ids.add(op["operationId"])
            ok = [c for c in op["responses"] if c.startswith("2")]
            assert ok, f"{where} declares no success response"
            if path.startswith("/api/"):
                assert "422" in op["responses"] or "401" in op["responses"], where
                for code, resp in op["responses"].items():
                    if code.startswith("4") and code != "422":
                        schema = resp["content"]["application/json"]["schema"]
                        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, where
