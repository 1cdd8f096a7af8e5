"""The OpenAPI document describes every route the app serves, with its schemas."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from hub.api import API_PREFIX
from hub.api.routes import ROUTERS
from hub.api.routes.target_workbooks import XLSX

BINARY = {"type": "string", "format": "binary"}

# The API's own logic: no database changes it.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _operations(app):
    """What the routers declare, walked independently of the OpenAPI generator."""
    own = [(route.path, route) for route in app.routes if isinstance(route, APIRoute)]
    mounted = [(API_PREFIX + route.path, route) for router in ROUTERS for route in router.routes]
    # A converter (``{path:path}``) is the router's business; the document names the parameter.
    return {
        (re.sub(r"\{(\w+):\w+\}", r"{\1}", path), method.lower())
        for path, route in own + mounted
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods
    }


def test_openapi_lists_exactly_the_routes(client, app):
    spec = client.get("/openapi.json").json()
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert documented == _operations(app)
    assert len(documented) > 40


def test_every_operation_has_its_schemas_and_the_error_shape(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert set(schemas["ErrorResponse"]["properties"]) == {"error"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), f"{where}: no summary"
            ok = [code for code in op["responses"] if code.startswith("2")]
            assert len(ok) == 1, where
            if ok[0] != "204":
                content = op["responses"][ok[0]]["content"]
                if "application/json" in content:
                    assert "$ref" in str(content["application/json"]["schema"]) or "items" in str(
                        op["responses"][ok[0]]
                    ), f"{where}: success has no schema"
                else:  # a file: one declared media type, binary
                    assert [c["schema"] for c in content.values()] == [BINARY], where
            if path.startswith("/api/v1"):
                for code in ("401", "403", "404", "422"):
                    ref = op["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorResponse"), where
                assert any(s.get("HTTPBearer") is not None for s in op.get("security", [])), (
                    f"{where}: no auth"
                )
            if method in ("post", "put", "patch") and "requestBody" in op:
                content = op["requestBody"]["content"]
                assert content and all(c["schema"] for c in content.values()), where
                if "application/json" not in content:  # an upload: a file, as a body or a form field
                    assert set(content) <= {XLSX, "multipart/form-data", "application/octet-stream"}, where


def test_lists_are_paginated(client):
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None or "{" in path.rsplit("/", 1)[-1] or not path.startswith("/api/v1"):
            continue
        content = op["responses"]["200"]["content"]
        if "application/json" not in content:
            continue  # a file download (the targets workbook), not a list
        ref = content["application/json"]["schema"].get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        if name.startswith("Page_"):
            params = {p["name"] for p in op.get("parameters", [])}
            assert {"limit", "offset"} <= params, path
