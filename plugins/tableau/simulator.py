"""A local fake of Tableau Server's sign-in and data-source publishing REST endpoints.

``POST /api/{v}/auth/signin`` (personal access token, XML), ``/auth/signout``,
``GET /api/{v}/sites/{site}/projects``, ``POST /api/{v}/sites/{site}/datasources`` (multipart/
mixed: ``request_payload`` + ``tableau_datasource``, or an ``uploadSessionId``; ``overwrite``)
and the upload sessions (``POST``/``PUT …/fileUploads``). ``datasources`` is the ground truth:
name -> (project id, the published file's bytes).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from email import message_from_bytes
from email.message import Message
from typing import Any, ClassVar
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import Response

from sdk.simulator import Reject, Simulator, TokenAuthority, route

from .publish import NS

__all__ = ["TableauSimulator"]

API = "/api/{version}"


def _xml(content: str, status: int = 200) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?><tsResponse xmlns="{NS["t"]}">{content}</tsResponse>'
    return Response(body, status_code=status, media_type="application/xml")


def _error(status: int, code: str, summary: str) -> Response:
    return _xml(
        f'<error code="{code}"><summary>{summary}</summary><detail>{summary}</detail></error>', status
    )


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


class TableauSimulator(Simulator):
    name: ClassVar[str] = "tableau"

    def __init__(self, *, site: str = "kpis", projects: tuple[str, ...] = ("Default",)) -> None:
        super().__init__(tokens=TokenAuthority(access_ttl=240 * 60.0))
        self.site = site
        self.site_id = str(uuid.uuid4())
        self.projects = {name: str(uuid.uuid4()) for name in projects}
        self.pat_name, self.pat_secret = self.tokens.register_client("kpihub-pat")
        self.datasources: dict[str, tuple[str, bytes]] = {}
        self.uploads: dict[str, bytearray] = {}
        self.signed_out = 0

    def credentials(self) -> dict[str, Any]:
        return {"site": self.site, "pat_name": self.pat_name, "pat_secret": self.pat_secret}

    def access_token(self, request: Request) -> str | None:
        return request.headers.get("x-tableau-auth")

    def unauthorized_response(self, reason: Any) -> Response:
        return _error(401, "401002", f"Unauthorized Access: token {reason}")

    def _site(self, request: Request) -> None:
        self.principal_of(request)
        if request.path_params["site_id"] != self.site_id:
            raise Reject(_error(404, "404000", "Site not found"))

    @route(API + "/auth/signin", methods=("POST",), faults=False)
    async def signin(self, request: Request) -> Response:
        try:
            credentials = ET.fromstring(await request.body()).find("credentials")  # noqa: S314
        except ET.ParseError:
            return _error(400, "400000", "Bad Request: the sign-in body is not XML")
        if credentials is None:
            return _error(400, "400000", "Bad Request: no credentials")
        name = credentials.get("personalAccessTokenName", "")
        secret = credentials.get("personalAccessTokenSecret", "")
        site = credentials.find("site")
        if not self.tokens.check_client(name, secret):
            return _error(401, "401001", "Signin Error: invalid personal access token")
        if site is None or site.get("contentUrl") != self.site:
            return _error(401, "401001", "Signin Error: unknown site")
        grant = self.tokens.grant(name, self.site)
        return _xml(
            f'<credentials token={quoteattr(grant.access_token)} estimatedTimeToExpiration="239:59:59">'
            f'<site id="{self.site_id}" contentUrl={quoteattr(self.site)}/><user id="{uuid.uuid4()}"/>'
            "</credentials>"
        )

    @route(API + "/auth/signout", methods=("POST",), faults=False)
    async def signout(self, request: Request) -> Response:
        token = self.access_token(request)
        if token:
            self.tokens.revoke_access(token)
            self.signed_out += 1
        return Response(status_code=204)

    @route(API + "/sites/{site_id}/projects", methods=("GET",))
    async def projects_list(self, request: Request) -> Response:
        self._site(request)
        wanted = request.query_params.get("filter", "").removeprefix("name:eq:")
        found = [(n, i) for n, i in self.projects.items() if not wanted or n == wanted]
        items = "".join(f'<project id="{i}" name={quoteattr(n)}/>' for n, i in found)
        page = f'<pagination pageNumber="1" pageSize="100" totalAvailable="{len(found)}"/>'
        return _xml(f"{page}<projects>{items}</projects>")

    @route(API + "/sites/{site_id}/fileUploads", methods=("POST",))
    async def upload_start(self, request: Request) -> Response:
        self._site(request)
        session = uuid.uuid4().hex
        self.uploads[session] = bytearray()
        return _xml(f'<fileUpload uploadSessionId="{session}" fileSize="0"/>', 201)

    @route(API + "/sites/{site_id}/fileUploads/{session}", methods=("PUT",))
    async def upload_chunk(self, request: Request) -> Response:
        self._site(request)
        session = request.path_params["session"]
        if session not in self.uploads:
            return _error(404, "404002", "Upload session not found")
        parts = await self._parts(request)
        if "tableau_file" not in parts:
            return _error(400, "400000", "the upload has no tableau_file part")
        self.uploads[session] += _payload(parts["tableau_file"])
        return _xml(f'<fileUpload uploadSessionId="{session}" fileSize="{len(self.uploads[session])}"/>')

    @route(API + "/sites/{site_id}/datasources", methods=("POST",))
    async def publish(self, request: Request) -> Response:
        self._site(request)
        parts = await self._parts(request)
        if "request_payload" not in parts:
            return _error(400, "400000", "no request_payload part")
        try:
            datasource = ET.fromstring(_payload(parts["request_payload"])).find("datasource")  # noqa: S314
        except ET.ParseError:
            return _error(400, "400000", "request_payload is not XML")
        project = datasource.find("project") if datasource is not None else None
        if datasource is None or project is None or not datasource.get("name"):
            return _error(400, "400000", "request_payload needs a datasource with a name and a project")
        if project.get("id") not in self.projects.values():
            return _error(404, "404005", "Project not found")
        session = request.query_params.get("uploadSessionId")
        if session is not None:
            if session not in self.uploads:
                return _error(404, "404002", "Upload session not found")
            data = bytes(self.uploads.pop(session))
        elif "tableau_datasource" in parts:
            data = _payload(parts["tableau_datasource"])
        else:
            return _error(400, "400000", "no tableau_datasource part and no uploadSessionId")
        name = datasource.get("name", "")
        if name in self.datasources and request.query_params.get("overwrite") != "true":
            return _error(409, "409004", f"data source {name} exists; publish with overwrite=true")
        self.datasources[name] = (str(project.get("id")), data)
        return _xml(
            f'<datasource id="{uuid.uuid5(uuid.NAMESPACE_URL, name)}" name={quoteattr(name)} type="hyper"/>',
            201,
        )

    async def _parts(self, request: Request) -> dict[str, Message]:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/mixed"):
            raise Reject(_error(415, "415000", "multipart/mixed expected"))
        message = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + await request.body())
        parts: dict[str, Message] = {}
        for part in message.walk():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                parts[name] = part
        return parts
