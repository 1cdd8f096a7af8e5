"""Base models for what a plugin is configured with: its options and its credentials."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = ["SECRET_NAME", "CredentialSpec", "PluginOptions", "secret_field_names"]

SECRET_NAME = re.compile(r"secret|token|password|passwd|private|api_key|app_key|partner_key|signing|sign_key")
"""Field names that look like secrets: such a credential field must be typed ``SecretStr``."""


class PluginOptions(BaseModel):
    """Non-secret settings of a plugin instance. Unknown keys are refused, so typos surface."""

    model_config = ConfigDict(extra="forbid")


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
