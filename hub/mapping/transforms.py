"""The transform registry: named, argument-checked steps a field mapping can apply.

A mapping names transforms as data (``transforms: [to_decimal, {multiply: {by: 100}}]``); this
module holds what those names mean. Each ``Transform`` declares a pydantic model for its
arguments, so a mapping's arguments are checked when it is compiled, and the kind of value it
produces, so a mapping that cannot produce its target column's type is refused up front.

The built-in transforms live in ``standard_transforms``; the hub adds plugins' transforms
with ``register_transform``. Names are unique: registering one twice is an error that names
both owners, never a silent replacement.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from sdk.errors import ConfigError

from .kinds import OUTPUT_KINDS, OutputKind
from .problems import known_list

__all__ = [
    "NoArgs",
    "Transform",
    "TransformArgs",
    "TransformRegistry",
    "default_registry",
    "register_transform",
    "transform_names",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

A = TypeVar("A", bound=BaseModel)


class TransformArgs(BaseModel):
    """Base for a transform's arguments: unknown keys are refused so typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArgs(TransformArgs):
    """The arguments of a transform that takes none."""


@dataclass(frozen=True)
class Transform(Generic[A]):
    """One named transform.

    ``fn(value, args, context)`` receives the current value, the validated arguments and the
    document the field's paths run against (the raw record, or ``{"record", "item"}`` for an
    ``each`` target), and returns the new value. It raises ``ValueError`` naming the bad value
    when it cannot convert it; the engine turns that into a ``MappingError`` for the field.
    ``None`` is passed through without calling ``fn`` unless ``accepts_none`` is set.
    """

    name: str
    fn: Callable[[Any, A, Any], Any]
    args: type[A]
    output: OutputKind = "any"
    accepts_none: bool = False
    description: str = ""
    owner: str = "kpihub"


class TransformRegistry:
    """Transforms by name. The hub keeps one; tests build their own."""

    def __init__(self, transforms: Iterable[Transform[Any]] = ()) -> None:
        self._transforms: dict[str, Transform[Any]] = {}
        for transform in transforms:
            self.register(transform)

    def register(self, transform: Transform[Any]) -> None:
        """Add ``transform``; ``ConfigError`` if its name is taken or it is malformed."""
        if not _NAME.match(transform.name):
            raise ConfigError(
                f"transform name {transform.name!r} (from {transform.owner!r}) must be lower_snake_case"
            )
        existing = self._transforms.get(transform.name)
        if existing is not None:
            raise ConfigError(
                f"transform {transform.name!r} is already registered by {existing.owner!r}; "
                f"{transform.owner!r} cannot register it again"
            )
        if not (isinstance(transform.args, type) and issubclass(transform.args, BaseModel)):
            raise ConfigError(f"transform {transform.name!r}: args must be a pydantic model class")
        if transform.args.model_config.get("extra") != "forbid":
            raise ConfigError(
                f"transform {transform.name!r}: its args model must set extra='forbid' "
                "(subclass TransformArgs) so misspelt arguments are reported"
            )
        if transform.output not in OUTPUT_KINDS:
            raise ConfigError(
                f"transform {transform.name!r}: output {transform.output!r} is not one of "
                f"{', '.join(sorted(OUTPUT_KINDS))}"
            )
        self._transforms[transform.name] = transform

    def unregister(self, name: str) -> None:
        """Remove a transform, e.g. when its plugin is unloaded; ``KeyError`` if unknown."""
        del self._transforms[name]

    def get(self, name: str) -> Transform[Any]:
        """The transform called ``name``; ``KeyError`` whose message lists the known names."""
        try:
            return self._transforms[name]
        except KeyError:
            raise KeyError(f"unknown transform {name!r}{known_list(name, self._transforms)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._transforms

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._transforms)

    def copy(self) -> TransformRegistry:
        """An independent registry holding the same transforms."""
        return TransformRegistry(self._transforms.values())


@functools.cache
def default_registry() -> TransformRegistry:
    """The process-wide registry, holding the built-ins plus whatever the hub registered."""
    # Imported here because the built-ins are declared with this module's Transform class.
    from .standard_transforms import STANDARD_TRANSFORMS

    return TransformRegistry(STANDARD_TRANSFORMS)


def register_transform(transform: Transform[Any], *, registry: TransformRegistry | None = None) -> None:
    """Add a transform to ``registry`` (the default one if omitted); duplicates are an error."""
    (registry if registry is not None else default_registry()).register(transform)


def transform_names(registry: TransformRegistry | None = None) -> list[str]:
    """Sorted names of the transforms in ``registry`` (the default one if omitted)."""
    return (registry if registry is not None else default_registry()).names()
