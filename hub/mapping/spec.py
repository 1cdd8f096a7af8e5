"""Check a mapping document and compile it into a ``CompiledMapping``.

The document is data (loaded from JSON or YAML), never code::

    version: 1
    targets:
      <table>:                      # a standard table, see sdk.records.STANDARD_RECORDS
        each: <jmespath>            # optional: one row per element of this list
        fields:
          <field>: <jmespath>       # shorthand for {path: <jmespath>}
          <field>:
            path: <jmespath>        # or const: <value>; exactly one of the two
            transforms: [<name>, {<name>: {<arg>: <value>}}]
        merge:                      # optional: how rows meet another connection's rows
          defer_to_others: true     # write only where no other connection describes the order
          owns: [<field>, ...]      # ...but set these fields on the other connection's row

Paths run on the raw record, or on ``{"record": raw, "item": element}`` in an ``each`` target.
The whole document is checked before anything is compiled, and every problem is reported in
one ``MappingError``, so a user fixes a mapping in one pass instead of one error at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jmespath.parser import ParsedResult
from pydantic import ValidationError

from sdk.errors import MappingError
from sdk.records import STANDARD_RECORDS, StandardRecord

from .compiled import CompiledMapping, FieldPlan, MergeRule, Step, TargetPlan
from .kinds import ACCEPTS, FieldKind, field_kind
from .problems import Problem, compile_jmespath, known_list, short_repr, validation_problems
from .transforms import TransformRegistry, default_registry

__all__ = ["FORMAT_VERSION", "compile_mapping"]

FORMAT_VERSION = 1
"""The mapping format this module reads."""

_TOP_KEYS = ("targets", "version")
_TARGET_KEYS = ("each", "fields", "merge")
_MERGE_KEYS = ("defer_to_others", "owns")
_FIELD_KEYS = ("const", "path", "transforms")


def compile_mapping(
    spec: object,
    *,
    provided: Iterable[str] = frozenset(),
    registry: TransformRegistry | None = None,
) -> CompiledMapping:
    """Check ``spec`` and compile it; ``MappingError`` listing every problem if it is invalid.

    ``provided`` names fields the caller fills when the mapping leaves them out (a connection's
    ``platform`` and ``shop_id``): they count as mapped when checking required fields.
    ``registry`` defaults to the process-wide transform registry.
    """
    compiler = _Compiler(registry if registry is not None else default_registry(), frozenset(provided))
    targets = compiler.mapping(spec)
    if compiler.problems:
        count = len(compiler.problems)
        listed = "; ".join(f"{path}: {reason}" if path else reason for path, reason in compiler.problems)
        raise MappingError(
            f"invalid mapping ({count} problem{'s' * (count > 1)}): {listed}", compiler.problems
        )
    return CompiledMapping(targets)


class _Compiler:
    def __init__(self, registry: TransformRegistry, provided: frozenset[str]) -> None:
        self.registry = registry
        self.provided = provided
        self.problems: list[Problem] = []

    def problem(self, path: str, reason: str) -> None:
        self.problems.append((path, reason))

    def unknown_keys(self, path: str, spec: dict[Any, Any], known: tuple[str, ...]) -> None:
        for key in spec:
            if key not in known:
                self.problem(
                    f"{path}.{key}" if path else str(key), f"unknown key{known_list(str(key), known)}"
                )

    def jmespath(self, path: str, expression: object) -> ParsedResult | None:
        try:
            return compile_jmespath(expression)
        except ValueError as exc:
            self.problem(path, str(exc))
            return None

    def mapping(self, spec: object) -> tuple[TargetPlan, ...]:
        if not isinstance(spec, dict):
            self.problem(
                "", f"a mapping must be an object with 'version' and 'targets', got {type(spec).__name__}"
            )
            return ()
        self.unknown_keys("", spec, _TOP_KEYS)
        version = spec.get("version")
        if "version" not in spec:
            self.problem("version", f"missing; this format is version {FORMAT_VERSION}")
        elif type(version) is not int or version != FORMAT_VERSION:
            self.problem("version", f"unsupported version {version!r}; expected {FORMAT_VERSION}")
        targets = spec.get("targets")
        if not isinstance(targets, dict) or not targets:
            got = "missing" if targets is None else f"got {short_repr(targets)}"
            self.problem("targets", f"expected an object naming at least one standard table ({got})")
            return ()
        plans = (self.target(str(table), target) for table, target in targets.items())
        return tuple(plan for plan in plans if plan is not None)

    def target(self, table: str, spec: object) -> TargetPlan | None:
        path = f"targets.{table}"
        model = STANDARD_RECORDS.get(table)
        if model is None:
            self.problem(path, f"unknown standard table {table!r}{known_list(table, STANDARD_RECORDS)}")
        if not isinstance(spec, dict):
            self.problem(path, f"expected an object with 'fields' (and optionally 'each'), got {spec!r}")
            return None
        self.unknown_keys(path, spec, _TARGET_KEYS)
        each = None if spec.get("each") is None else self.jmespath(f"{path}.each", spec["each"])
        fields = spec.get("fields")
        if not isinstance(fields, dict):
            got = "missing" if fields is None else f"got {type(fields).__name__}"
            self.problem(f"{path}.fields", f"expected an object of field: mapping ({got})")
            fields = {}
        plans = [self.field(path, table, model, str(name), field) for name, field in fields.items()]
        if model is not None:
            for name, info in model.model_fields.items():
                if info.is_required() and name not in fields and name not in self.provided:
                    self.problem(
                        f"{path}.fields.{name}",
                        f"required field of {table!r} is not mapped; map it from the record or give a const",
                    )
        merge = None if spec.get("merge") is None else self.merge(f"{path}.merge", model, spec["merge"])
        if model is None:
            return None
        return TargetPlan(
            table=table,
            path=path,
            each=each,
            fields=tuple(plan for plan in plans if plan is not None),
            columns=frozenset(model.model_fields),
            merge=merge,
        )

    def merge(self, path: str, model: type[StandardRecord] | None, spec: object) -> MergeRule | None:
        if not isinstance(spec, dict):
            self.problem(
                path, f"expected an object with 'defer_to_others' and 'owns', got {short_repr(spec)}"
            )
            return None
        self.unknown_keys(path, spec, _MERGE_KEYS)
        defer = spec.get("defer_to_others", False)
        if not isinstance(defer, bool):
            self.problem(f"{path}.defer_to_others", f"expected true or false, got {short_repr(defer)}")
            return None
        owns = spec.get("owns", [])
        if not isinstance(owns, list) or not all(isinstance(name, str) for name in owns):
            self.problem(f"{path}.owns", f"expected a list of field names, got {short_repr(owns)}")
            return None
        if owns and not defer:
            self.problem(
                f"{path}.owns",
                "only means something with defer_to_others: true (a target that does not defer "
                "writes every field it maps anyway)",
            )
        if model is not None:
            keys = set(model.natural_key)
            for index, name in enumerate(owns):
                if name not in model.model_fields:
                    known = known_list(name, model.model_fields)
                    self.problem(f"{path}.owns[{index}]", f"unknown field {name!r}{known}")
                elif name in keys:
                    self.problem(f"{path}.owns[{index}]", f"{name!r} identifies the row; it cannot be owned")
        return MergeRule(defer_to_others=defer, owns=tuple(owns))

    def field(
        self, target_path: str, table: str, model: type[StandardRecord] | None, name: str, spec: object
    ) -> FieldPlan | None:
        path = f"{target_path}.fields.{name}"
        column = None if model is None else model.model_fields.get(name)
        if model is not None and column is None:
            self.problem(
                path, f"unknown field {name!r} of table {table!r}{known_list(name, model.model_fields)}"
            )
        kind: FieldKind = "other" if column is None else field_kind(column.annotation)
        source: ParsedResult | None = None
        const: Any = None
        steps: tuple[Step, ...] | None = ()
        if isinstance(spec, str):
            source = self.jmespath(path, spec)
        elif isinstance(spec, dict):
            self.unknown_keys(path, spec, _FIELD_KEYS)
            if ("path" in spec) == ("const" in spec):
                both = "path" in spec
                self.problem(
                    path, f"{'has both' if both else 'needs one of'} 'path' and 'const'; give exactly one"
                )
            elif "path" in spec:
                source = self.jmespath(f"{path}.path", spec["path"])
            else:
                const = spec["const"]
            steps = self.transforms(f"{path}.transforms", spec.get("transforms", []))
        else:
            shown = "null" if spec is None else type(spec).__name__
            self.problem(
                path, f"expected a JMESPath string or an object with path/const/transforms, got {shown}"
            )
            return None
        if steps is None:
            return None
        output = steps[-1].transform.output if steps else "any"
        if output not in ACCEPTS[kind]:
            accepted = ", ".join(sorted(ACCEPTS[kind]))
            self.problem(
                path,
                f"transform {steps[-1].transform.name!r} produces {output}, but {table}.{name} needs {kind}; "
                f"end with a transform that produces one of: {accepted}",
            )
        return FieldPlan(name=name, path=path, source=source, const=const, steps=steps, kind=kind)

    def transforms(self, path: str, items: object) -> tuple[Step, ...] | None:
        if not isinstance(items, list):
            self.problem(path, f"expected a list of transforms, got {type(items).__name__}")
            return None
        steps = [self.step(f"{path}[{index}]", item) for index, item in enumerate(items)]
        if any(step is None for step in steps):
            return None
        return tuple(step for step in steps if step is not None)

    def step(self, path: str, item: object) -> Step | None:
        if isinstance(item, str):
            name, raw_args = item, None
        elif isinstance(item, dict) and len(item) == 1:
            ((name, raw_args),) = item.items()
        else:
            self.problem(path, "expected a transform name, or an object with one key: {name: {arguments}}")
            return None
        if name not in self.registry:
            self.problem(path, f"unknown transform {name!r}{known_list(str(name), self.registry.names())}")
            return None
        transform = self.registry.get(name)
        if raw_args is not None and not isinstance(raw_args, dict):
            self.problem(f"{path}.{name}", f"arguments must be an object, got {type(raw_args).__name__}")
            return None
        try:
            args = transform.args.model_validate(raw_args or {})
        except ValidationError as exc:
            known = list(transform.args.model_fields)
            self.problems.extend(validation_problems(exc, f"{path}.{name}", known=known))
            return None
        return Step(transform=transform, args=args, path=path)
