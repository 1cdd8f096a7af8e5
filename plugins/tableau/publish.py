"""Publishing ``.hyper`` extracts to Tableau Server or Tableau Cloud through its REST API.

Sign in with a personal access token (``POST /api/{v}/auth/signin``; the answer's token goes in
``X-Tableau-Auth`` afterwards), find the project by name, then publish each extract as a data
source in ``Overwrite`` mode: one ``multipart/mixed`` request (``request_payload`` +
``tableau_datasource``) up to ``chunk_bytes``, else an upload session (``fileUploads``: the
file in chunks, then the publish request naming the session), as tableauserverclient does.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import httpx

from sdk import ConfigError
from sdk.http import ApiClient, RateBudgets, RateLimit, RetryPolicy

__all__ = ["NS", "TableauPublisher", "multipart"]

NS = {"t": "http://tableau.com/api"}
LIMITS = {"*": RateLimit(5.0, 10.0)}


def multipart(parts: list[tuple[str, str | None, str, bytes]]) -> tuple[bytes, str]:
    """A ``multipart/mixed`` body of (name, filename, content type, bytes) parts, and its type."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, filename, content_type, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n"
        chunks += [head.encode(), data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"


def _xml(body: Any) -> ET.Element:
    # The configured Tableau server's own answers; expat refuses entity-expansion bombs.
    return ET.fromstring(body if isinstance(body, bytes) else str(body))  # noqa: S314


class TableauPublisher:
    """One signed-in session on a site; ``publish`` overwrites a data source from a file."""

    def __init__(
        self,
        server_url: str,
        *,
        site: str,
        project: str,
        pat_name: str,
        pat_secret: str,
        api_version: str,
        chunk_bytes: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api = ApiClient(
            server_url.rstrip("/"),
            app=f"tableau:{pat_name}",
            budgets=RateBudgets(),
            limits=LIMITS,
            transport=transport,
            timeout=300.0,
            retry=RetryPolicy(attempts=4),
            headers={"Accept": "application/xml"},
        )
        self._secrets = [pat_secret]
        self.api.redactor.add_secrets(lambda: self._secrets)
        self._base = f"/api/{api_version}"
        self._site, self._project = site, project
        self._pat_name, self._pat_secret = pat_name, pat_secret
        self._chunk = chunk_bytes
        self._auth: dict[str, str] = {}
        self._site_id = ""
        self._project_id = ""
        self.published: dict[str, str] = {}
        """Data source name -> id, for what this session published."""

    async def sign_in(self) -> None:
        payload = (
            f"<tsRequest><credentials personalAccessTokenName={quoteattr(self._pat_name)} "
            f"personalAccessTokenSecret={quoteattr(self._pat_secret)}>"
            f"<site contentUrl={quoteattr(self._site)}/></credentials></tsRequest>"
        ).encode()
        _, body = await self.api.request(
            "POST",
            f"{self._base}/auth/signin",
            endpoint="signin",
            content=payload,
            headers={"Content-Type": "application/xml"},
        )
        credentials = _xml(body).find("t:credentials", NS)
        site = credentials.find("t:site", NS) if credentials is not None else None
        if credentials is None or site is None:
            raise ValueError("the Tableau sign-in answer has no credentials")
        self._auth = {"X-Tableau-Auth": credentials.attrib["token"]}
        self._secrets.append(credentials.attrib["token"])
        self._site_id = site.attrib["id"]
        self._project_id = await self._find_project()

    async def _find_project(self) -> str:
        _, body = await self.api.request(
            "GET",
            f"{self._sites()}/projects",
            endpoint="projects",
            headers=self._auth,
            params={"filter": f"name:eq:{self._project}"},
        )
        for project in _xml(body).iterfind("t:projects/t:project", NS):
            if project.attrib.get("name") == self._project:
                return project.attrib["id"]
        raise ConfigError(
            f"the Tableau site has no project named {self._project!r}; create it or name another"
        )

    def _sites(self) -> str:
        return f"{self._base}/sites/{self._site_id}"

    async def publish(self, path: Path, name: str) -> str:
        """Publish (overwrite) ``path`` as data source ``name``; returns its id."""
        payload = (
            f"<tsRequest><datasource name={quoteattr(name)}><project id={quoteattr(self._project_id)}/>"
            "</datasource></tsRequest>"
        ).encode()
        size = path.stat().st_size
        params: dict[str, str] = {"overwrite": "true", "datasourceType": "hyper"}
        parts: list[tuple[str, str | None, str, bytes]] = [("request_payload", None, "text/xml", payload)]
        if size <= self._chunk:
            parts.append(("tableau_datasource", path.name, "application/octet-stream", path.read_bytes()))
        else:
            params["uploadSessionId"] = await self._upload(path)
        content, content_type = multipart(parts)
        _, body = await self.api.request(
            "POST",
            f"{self._sites()}/datasources",
            endpoint="publish",
            params=params,
            content=content,
            headers={**self._auth, "Content-Type": content_type},
        )
        found = _xml(body).find("t:datasource", NS)
        if found is None:
            raise ValueError("the Tableau publish answer has no data source")
        self.published[name] = found.attrib["id"]
        return found.attrib["id"]

    async def _upload(self, path: Path) -> str:
        _, body = await self.api.request(
            "POST", f"{self._sites()}/fileUploads", endpoint="upload", headers=self._auth
        )
        found = _xml(body).find("t:fileUpload", NS)
        if found is None:
            raise ValueError("the Tableau upload answer has no session")
        session = found.attrib["uploadSessionId"]
        with path.open("rb") as handle:
            while chunk := handle.read(self._chunk):
                content, content_type = multipart(
                    [
                        ("request_payload", None, "text/xml", b""),
                        ("tableau_file", "file", "application/octet-stream", chunk),
                    ]
                )
                await self.api.request(
                    "PUT",
                    f"{self._sites()}/fileUploads/{session}",
                    endpoint="upload",
                    content=content,
                    headers={**self._auth, "Content-Type": content_type},
                )
        return session

    async def aclose(self) -> None:
        try:
            if self._auth:
                await self.api.request(
                    "POST", f"{self._base}/auth/signout", endpoint="signin", headers=self._auth
                )
        finally:
            await self.api.aclose()
