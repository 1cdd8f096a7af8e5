"""Base models for what a plugin is configured with: its options and its credentials."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = [
    "SECRET_NAME",
    "CredentialSpec",
    "Destination",
    "DestinationKind",
    "PluginOptions",
    "destination_fields",
    "secret_field_names",
]

DestinationKind = Literal["url", "choice", "database_url", "input_path", "output_path"]


@dataclass(frozen=True)
class Destination:
    """Field metadata: this option (or credential) decides where the plugin sends credentials
    or data, or where it reads files from. Declare it with ``Annotated``::

        api_url: Annotated[str, Destination("url", hosts=("api.example.com", "*.example.com"))]
        region: Annotated[Literal["na", "eu"], Destination("choice")]

    The hub enforces it, so a tenant cannot send a stored secret anywhere else:

    - ``url``: an http(s) URL whose host is one of ``hosts`` (the platform's official hosts;
      ``*.example.com`` means any subdomain), or a host the hub's operator allows. Calls to
      loopback, private and link-local addresses are refused unless the operator allows them.
    - ``choice``: picks one of the platform's own endpoints (a region, an environment).
    - ``database_url``: a SQLAlchemy URL; a SQLite file goes under the tenant's output area, a
      server must pass the operator's address rules and may not be the hub's own store.
    - ``input_path`` / ``output_path``: a path inside the tenant's upload / output area
      (relative paths are taken from there); the plugin receives it resolved and absolute.

    Changing any destination of a configured plugin requires its credentials to be entered
    again in the same change: they are never carried over to a new destination.
    """

    kind: DestinationKind = "url"
    hosts: tuple[str, ...] = ()


def destination_fields(model: type[BaseModel]) -> dict[str, Destination]:
    """The fields of ``model`` declared as destinations, by name."""
    found: dict[str, Destination] = {}
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, Destination):
                found[name] = meta
    return found


SECRET_NAME = re.compile(r"secret|token|password|passwd|private|api_key|app_key|partner_key|signing|sign_key")
"""Field names that look like secrets: such a credential field must be typed ``SecretStr``."""


class PluginOptions(BaseModel):
    """Non-secret settings of a plugin instance. Unknown keys are refused, so typos surface."""

    model_config = ConfigDict(extra="forbid")

    egress_hosts: ClassVar[tuple[str, ...]] = ()
    """Hosts the plugin calls besides those its ``url`` destinations name, e.g. where a
    platform's answer points for a download (Amazon's report documents on S3). The hub lets
    the plugin's HTTP traffic reach only its destinations' hosts, these, and the operator's."""


class CredentialSpec(BaseModel):
    """Secret settings of a plugin instance, stored encrypted in the vault.

    Every field that holds a secret is typed ``SecretStr`` so it never
    shows in a ``repr``, a log line or an error. Non-secret identifiers (an app id, a seller
    id) may stay plain strings. ``documentation`` tells a user where to obtain the values.
    """

    model_config = ConfigDict(extra="forbid")

    documentation: ClassVar[str] = ""

    def revealed(self) -> dict[str, Any]:
        """The plain values, for the vault to encrypt and for a client to send upstream."""
        out: dict[str, Any] = {}
        for name, value in self:
            if isinstance(value, SecretStr):
                out[name] = value.get_secret_value()
            else:
                out[name] = value
        return out


def secret_field_names(spec: type[BaseModel]) -> list[str]:
    """Names of the fields of ``spec`` typed as secrets."""
    names = []
    for name, field in spec.model_fields.items():
        annotation = field.annotation
        if annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ()):
            names.append(name)
    return names
