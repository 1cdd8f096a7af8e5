"""Field mappings: turn raw platform records into standard rows, described as data.

A mapping is a JSON or YAML document, never code. A plugin ships a default one per stream; a
client may override parts of it (``merge_mapping``). ``compile_mapping`` checks the whole
document against the standard record models and the transform registry and reports every
problem at once; the resulting ``CompiledMapping`` maps one raw record at a time.
``preview`` shows what a mapping does to sample records, for the admin API, within bounds.
"""

from __future__ import annotations

from .compiled import CompiledMapping
from .kinds import OutputKind
from .load import load_mapping_text
from .merge import merge_mapping
from .preview import PreviewProblem, PreviewResult, PreviewRow, PreviewTooCostly, check_override_size, preview
from .spec import FORMAT_VERSION, compile_mapping
from .transforms import (
    NoArgs,
    Transform,
    TransformArgs,
    TransformRegistry,
    default_registry,
    register_transform,
    transform_names,
)

__all__ = [
    "FORMAT_VERSION",
    "CompiledMapping",
    "NoArgs",
    "OutputKind",
    "PreviewProblem",
    "PreviewResult",
    "PreviewRow",
    "PreviewTooCostly",
    "Transform",
    "TransformArgs",
    "TransformRegistry",
    "check_override_size",
    "compile_mapping",
    "default_registry",
    "load_mapping_text",
    "merge_mapping",
    "preview",
    "register_transform",
    "transform_names",
]
