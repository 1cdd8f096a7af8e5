"""A Power BI simulator: a fake Microsoft Entra token endpoint and the push-dataset REST API.

Identity (for msal, client credentials): ``GET /{tenant}/v2.0/.well-known/openid-configuration``
and ``POST /{tenant}/oauth2/v2.0/token``. The API, always under a workspace:
``/v1.0/myorg/groups/{groupId}/datasets`` (GET, POST), ``…/datasets/{id}/tables`` (GET),
``…/tables/{name}`` (PUT), ``…/tables/{name}/rows`` (POST, DELETE).

Every request body is validated against the official swagger's definitions (found through
``KPIHUB_SPECS_DIR``; without it the same rules from ``schema.py``), column types against the
push-dataset type list, row values against their column's type, and every documented limit is
enforced (``limits.py``): 10,000 rows per POST, 120 POSTs a minute per dataset, 120 an hour
once the table holds 250,000 rows, 1,000,000 rows an hour, 5 pending POSTs, 4,000-character
strings, 75 tables/columns/relationships, 5,000,000 rows per table. A limit answers 429 with
``Retry-After`` (and is counted in ``throttled_by``); a bad request answers 400 naming what is
wrong (kept in ``rejections``). ``rows(dataset, table)`` is the ground truth: what each table
holds. Windows count on the simulator's clock (``time_scale`` speeds it up).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sdk.simulator import FaultPlan, Reject, Simulator, TokenAuthority, route

from .auth import SCOPE
from .limits import (
    DATA_TYPES,
    LARGE_TABLE_ROWS,
    MAX_COLUMNS,
    MAX_PENDING_POSTS,
    MAX_RELATIONSHIPS,
    MAX_ROWS_FIFO,
    MAX_ROWS_PER_POST,
    MAX_ROWS_PER_TABLE,
    MAX_STRING_CHARS,
    MAX_TABLES,
    POSTS_PER_HOUR_LARGE_TABLE,
    POSTS_PER_MINUTE,
    ROWS_PER_HOUR,
)
from .schema import load_definitions, validate

__all__ = ["PowerBISimulator"]

GROUP = "/v1.0/myorg/groups/{group_id}/datasets"
_TYPES = {t.lower(): t for t in DATA_TYPES}


@dataclass
class _Table:
    name: str
    columns: dict[str, str]
    measures: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Dataset:
    id: str
    name: str
    group: str
    retention: str
    tables: dict[str, _Table]
    relationships: list[dict[str, Any]]
    pending: int = 0
    posts: deque[float] = field(default_factory=deque)
    rows_added: deque[tuple[float, int]] = field(default_factory=deque)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "addRowsAPIEnabled": True,
            "isRefreshable": False,
            "defaultRetentionPolicy": self.retention,
            "configuredBy": "kpihub-simulator",
        }


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _strict_json(raw: bytes) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(raw, parse_constant=refuse)


class PowerBISimulator(Simulator):
    name: ClassVar[str] = "powerbi"
    base_paths: ClassVar[dict[str, str]] = {"api": "", "identity": ""}

    def __init__(
        self,
        *,
        tenant: str = "contoso.onmicrosoft.com",
        workspaces: Sequence[str] | None = None,
        authority_host: str = "https://login.microsoftonline.com",
        time_scale: float = 1.0,
        specs_dir: str | None = None,
        keep_bodies: bool = True,
        faults: FaultPlan | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            tokens=TokenAuthority(access_ttl=3600.0), time_scale=time_scale, faults=faults, clock=clock
        )
        self.tenant = tenant
        self.workspaces = list(workspaces or [str(uuid.uuid4())])
        self.authority_host = authority_host.rstrip("/")
        self.client_id, self.client_secret = self.tokens.register_client()
        self.definitions, self.spec_source = load_definitions(specs_dir)
        self.keep_bodies = keep_bodies
        self.bodies: list[tuple[str, Any]] = []
        """(swagger definition, body) of every request body received, when ``keep_bodies``."""
        self.datasets: dict[str, _Dataset] = {}
        self.throttled_by: Counter[str] = Counter()
        self.rejections: list[str] = []

    # -- ground truth ---------------------------------------------------------------------

    def dataset(self, name: str) -> _Dataset:
        found = [d for d in self.datasets.values() if d.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} datasets are named {name!r}")
        return found[0]

    def rows(self, dataset: str, table: str) -> list[dict[str, Any]]:
        """What ``table`` holds, every row with every current column (null where never sent)."""
        found = self.dataset(dataset).tables[table]
        return [{c: row.get(c) for c in found.columns} for row in found.rows]

    def credentials(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "workspace_id": self.workspaces[0],
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    def rate_limited_response(self, retry_after: float | None) -> Response:
        response = super().rate_limited_response(retry_after)
        body = {
            "error": {
                "code": "TooManyRequests",
                "message": "You have exceeded the amount of requests allowed",
            }
        }
        return JSONResponse(
            body, status_code=429, headers={k: v for k, v in response.headers.items() if k == "retry-after"}
        )

    def unauthorized_response(self, reason: Any) -> Response:
        return _error(401, "TokenExpired" if str(reason) == "expired" else "Unauthorized", f"token {reason}")

    # -- identity ---------------------------------------------------------------------------

    @route("/{tenant}/v2.0/.well-known/openid-configuration", faults=False)
    async def openid_configuration(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if tenant != self.tenant:
            return JSONResponse(
                {"error": "invalid_tenant", "error_description": f"tenant {tenant} not found"}, 400
            )
        base = f"{self.authority_host}/{tenant}"
        return JSONResponse(
            {
                "issuer": f"{base}/v2.0",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "token"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            }
        )

    @route("/{tenant}/oauth2/v2.0/token", methods=("POST",), faults=False)
    async def token(self, request: Request) -> Response:
        form = await request.form()
        if request.path_params["tenant"] != self.tenant:
            return JSONResponse({"error": "invalid_tenant", "error_description": "unknown tenant"}, 400)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "client_credentials only"}, 400
            )
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        if not self.tokens.check_client(client_id, secret):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}, 401
            )
        if set(str(form.get("scope", "")).split()) != {SCOPE}:
            return JSONResponse(
                {"error": "invalid_scope", "error_description": f"scope must be {SCOPE}"}, 400
            )
        grant = self.tokens.grant(client_id, self.tenant)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": grant.expires_in,
                "ext_expires_in": grant.expires_in,
                "access_token": grant.access_token,
            }
        )

    # -- push datasets ----------------------------------------------------------------------

    def _group(self, request: Request) -> str:
        self.principal_of(request)
        group = request.path_params["group_id"]
        if group not in self.workspaces:
            raise Reject(_error(404, "PowerBIEntityNotFound", f"workspace {group} not found"))
        return str(group)

    def _dataset_of(self, request: Request) -> _Dataset:
        group = self._group(request)
        found = self.datasets.get(request.path_params["dataset_id"])
        if found is None or found.group != group:
            raise Reject(_error(404, "ItemNotFound", "Dataset not found"))
        return found

    def _table_of(self, request: Request) -> tuple[_Dataset, _Table]:
        dataset = self._dataset_of(request)
        table = dataset.tables.get(request.path_params["table"])
        if table is None:
            raise Reject(_error(404, "ItemNotFound", f"table {request.path_params['table']} not found"))
        return dataset, table

    def _reject(self, message: str) -> Reject:
        self.rejections.append(message)
        return Reject(_error(400, "InvalidRequest", message))

    async def _body(self, request: Request, definition: str) -> Any:
        try:
            body = _strict_json(await request.body())
        except ValueError as exc:
            raise self._reject(f"the body is not valid JSON: {exc}") from None
        problems = validate(definition, body, self.definitions)
        if problems:
            raise self._reject(f"{definition}: {'; '.join(problems[:5])}")
        if self.keep_bodies:
            self.bodies.append((definition, body))
        return body

    def _columns(self, table: dict[str, Any]) -> dict[str, str]:
        columns: dict[str, str] = {}
        for column in table["columns"]:
            data_type = _TYPES.get(column["dataType"].lower())
            if data_type is None:
                raise self._reject(
                    f"column {column['name']!r}: dataType {column['dataType']!r} is not one of {DATA_TYPES}"
                )
            if column["name"] in columns:
                raise self._reject(f"table {table['name']!r}: column {column['name']!r} appears twice")
            columns[column["name"]] = data_type
        if len(columns) > MAX_COLUMNS:
            raise self._reject(f"table {table['name']!r} has {len(columns)} columns; at most {MAX_COLUMNS}")
        return columns

    @route(GROUP, methods=("GET",))
    async def get_datasets(self, request: Request) -> Response:
        group = self._group(request)
        value = [d.public() for d in self.datasets.values() if d.group == group]
        return JSONResponse({"odata.context": f"{request.url}/$metadata#datasets", "value": value})

    @route(GROUP, methods=("POST",), name="post_dataset")
    async def post_dataset(self, request: Request) -> Response:
        group = self._group(request)
        retention = request.query_params.get("defaultRetentionPolicy", "None")
        if retention not in ("None", "basicFIFO"):
            raise self._reject(f"defaultRetentionPolicy {retention!r} is not None or basicFIFO")
        body = await self._body(request, "CreateDatasetRequest")
        if len(body["tables"]) > MAX_TABLES:
            raise self._reject(f"a push dataset has at most {MAX_TABLES} tables")
        tables = {}
        for table in body["tables"]:
            tables[table["name"]] = _Table(
                table["name"], self._columns(table), list(table.get("measures", []))
            )
        relationships = list(body.get("relationships", []))
        if len(relationships) > MAX_RELATIONSHIPS:
            raise self._reject(f"a push dataset has at most {MAX_RELATIONSHIPS} relationships")
        for rel in relationships:
            for side in ("from", "to"):
                table = tables.get(rel[f"{side}Table"])
                if table is None or rel[f"{side}Column"] not in table.columns:
                    raise self._reject(f"relationship {rel['name']!r}: {side} column is not in the dataset")
        dataset = _Dataset(str(uuid.uuid4()), body["name"], group, retention, tables, relationships)
        self.datasets[dataset.id] = dataset
        return JSONResponse(dataset.public(), status_code=201)

    @route(GROUP + "/{dataset_id}/tables", methods=("GET",))
    async def get_tables(self, request: Request) -> Response:
        dataset = self._dataset_of(request)
        value = [
            {
                "name": t.name,
                "columns": [{"name": n, "dataType": d} for n, d in t.columns.items()],
                **({"measures": t.measures} if t.measures else {}),
            }
            for t in dataset.tables.values()
        ]
        return JSONResponse({"odata.context": f"{request.url}/$metadata#tables", "value": value})

    @route(GROUP + "/{dataset_id}/tables/{table}", methods=("PUT",))
    async def put_table(self, request: Request) -> Response:
        _, table = self._table_of(request)
        body = await self._body(request, "Table")
        if body["name"] != table.name:
            raise self._reject(f"the body names table {body['name']!r}, the URL {table.name!r}")
        columns = self._columns(body)
        dropped = [c for c in table.columns if c not in columns]
        if dropped:
            raise self._reject(f"PUT table must list every column; {dropped} are missing")
        table.columns = columns
        table.measures = list(body.get("measures", []))
        return JSONResponse(body)

    @route(GROUP + "/{dataset_id}/tables/{table}/rows", methods=("DELETE",), name="delete_rows")
    async def delete_rows(self, request: Request) -> Response:
        _, table = self._table_of(request)
        table.rows = []
        return Response(status_code=200)

    @route(GROUP + "/{dataset_id}/tables/{table}/rows", methods=("POST",), name="post_rows")
    async def post_rows(self, request: Request) -> Response:
        dataset, table = self._table_of(request)
        dataset.pending += 1
        try:
            body = await self._body(request, "PostRowsRequest")
            if dataset.pending > MAX_PENDING_POSTS:
                return self._throttle("pending", 1.0)
            rows = body.get("rows", [])
            if len(rows) > MAX_ROWS_PER_POST:
                raise self._reject(f"{len(rows)} rows in one request; at most {MAX_ROWS_PER_POST}")
            now = self.now()
            if (wait := self._window_wait(dataset, table, now, len(rows))) is not None:
                return self._throttle(*wait)
            for i, row in enumerate(rows):
                self._check_row(table, row, i)
            if dataset.retention == "None" and len(table.rows) + len(rows) > MAX_ROWS_PER_TABLE:
                raise self._reject(f"table {table.name!r} would exceed {MAX_ROWS_PER_TABLE:,} rows")
            dataset.posts.append(now)
            dataset.rows_added.append((now, len(rows)))
            table.rows.extend(rows)
            if dataset.retention == "basicFIFO" and len(table.rows) > MAX_ROWS_FIFO:
                del table.rows[: len(table.rows) - MAX_ROWS_FIFO]
            return Response(status_code=200)
        finally:
            dataset.pending -= 1

    def _throttle(self, reason: str, wait: float) -> Response:
        self.throttled_by[reason] += 1
        return self.rate_limited_response(wait / self.time_scale)

    def _window_wait(
        self, dataset: _Dataset, table: _Table, now: float, rows: int
    ) -> tuple[str, float] | None:
        while dataset.posts and dataset.posts[0] <= now - 3600:
            dataset.posts.popleft()
        while dataset.rows_added and dataset.rows_added[0][0] <= now - 3600:
            dataset.rows_added.popleft()
        last_minute = [t for t in dataset.posts if t > now - 60]
        if len(last_minute) >= POSTS_PER_MINUTE:
            return "posts_per_minute", last_minute[0] + 60 - now
        if len(table.rows) >= LARGE_TABLE_ROWS and len(dataset.posts) >= POSTS_PER_HOUR_LARGE_TABLE:
            return "posts_per_hour", dataset.posts[0] + 3600 - now
        if sum(n for _, n in dataset.rows_added) + rows > ROWS_PER_HOUR:
            return "rows_per_hour", dataset.rows_added[0][0] + 3600 - now
        return None

    def _check_row(self, table: _Table, row: dict[str, Any], index: int) -> None:
        for name, value in row.items():
            data_type = table.columns.get(name)
            if data_type is None:
                raise self._reject(f"row {index}: table {table.name!r} has no column {name!r}")
            if value is not None and not _FITS[data_type](value):
                raise self._reject(f"row {index}: column {name!r} ({data_type}) cannot hold {value!r:.60}")


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_FITS: dict[str, Callable[[Any], bool]] = {
    "Int64": lambda v: type(v) is int and -(2**63) < v < 2**63 - 1,
    "Double": lambda v: type(v) in (int, float),
    "Decimal": lambda v: type(v) in (int, float),
    "Boolean": lambda v: type(v) is bool,
    "DateTime": _is_datetime,
    "String": lambda v: type(v) is str and len(v) <= MAX_STRING_CHARS,
}
