"""The documentation site builds without warnings, and its references match the code.

- docs/hooks.md documents every hookspec with its exact signature, parameters, when it is
  called and an example;
- the tables of docs/standard-model.md and docs/published-tables.md are generated from
  ``sdk.records`` and the hub's publishing catalogue; when the code changes, regenerate them
  with ``python tests/test_docs.py`` (the text around the tables is kept).
"""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
import types
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Union, get_args, get_origin

import pytest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
BEGIN, END = "<!-- generated: python tests/test_docs.py -->", "<!-- end of generated part -->"


# -- rendering the references from the code ----------------------------------------------------


_RULES = ("pattern", "max_digits", "decimal_places", "ge", "gt", "le", "max_length", "description")


def _unwrap(annotation, found: dict) -> object:
    """The bare type of a field, collecting constraints from ``Annotated`` and ``X | None``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            _collect(extra, found)
        elif origin is Union or origin is types.UnionType:
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _collect(metadata, found: dict) -> None:
    for meta in metadata:
        if isinstance(getattr(meta, "metadata", None), list):  # a Field(...) inside Annotated
            _collect(meta.metadata, found)
        if type(meta).__name__ == "AfterValidator":
            found["utc"] = True
        for attr in _RULES:
            value = getattr(meta, attr, None)
            if value is not None:
                found[attr] = value


def _describe(info) -> tuple[str, str]:
    """A column's type and its unit or rule, from the model field."""
    rules: dict = {}
    _collect(info.metadata, rules)
    annotation = _unwrap(info.annotation, rules)
    note = ""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "text", "one of " + ", ".join(f"`{m.value}`" for m in annotation)
    if annotation is bool:
        kind = "boolean"
    elif annotation is int:
        low, high = rules.get("ge"), rules.get("le")
        kind = "integer"
        note = f"{low} to {high}" if low is not None and high is not None else ("≥ 0" if low == 0 else "")
    elif annotation is Decimal:
        digits, places = rules.get("max_digits"), rules.get("decimal_places")
        kind = f"decimal({digits},{places})" if digits else "decimal"
        # A money column in a currency column of its own says which in its description.
        own_currency = "currency`" in (info.description or "")
        money = "money" if own_currency else "money, in the row's `currency`"
        note = money if places == 4 else ("> 0" if rules.get("gt") == 0 else "")
    elif rules.get("utc"):
        kind, note = "timestamp", "UTC; a timezone is required"
    elif getattr(annotation, "__name__", "") in ("date", "datetime"):
        kind = {"date": "date", "datetime": "timestamp"}[annotation.__name__]
    else:
        kind = "text"
        if rules.get("pattern") == r"^[A-Z]{3}$":
            note = "currency: " + (rules.get("description") or "ISO 4217 code")
            own = info.description if info.description and "ISO 4217" not in info.description else None
            return kind, f"{note}; {own}" if own else note
        if "max_length" in rules:
            note = f"at most {rules['max_length']} characters"
    description = info.description or rules.get("description") or ""
    if description and description not in note:
        note = f"{note}; {description}" if note else description
    return kind, note


def render_standard_model() -> str:
    from sdk import STANDARD_RECORDS

    out = []
    for table, record in STANDARD_RECORDS.items():
        out.append(f"## `{table}`\n")
        doc = inspect.getdoc(record) or ""
        if doc and record.__doc__:
            out.append(doc.split("\n\n")[0].replace("\n", " ") + "\n")
        key = ", ".join(f"`{c}`" for c in record.natural_key)
        fresh = f" Freshness: `{record.time_field}`." if record.time_field else ""
        out.append(f"Key (within a tenant): {key}.{fresh}")
        out.append("\n| column | type | required | unit / rule |\n|---|---|---|---|")
        for name, info in record.model_fields.items():
            kind, note = _describe(info)
            required = "yes" if info.is_required() else f"no (default `{info.default}`)"
            out.append(f"| `{name}` | {kind} | {required} | {note} |")
        out.append("")
    return "\n".join(out)


def render_published_tables() -> str:
    from hub.publish.catalog import DEFAULT_TABLES, catalog
    from hub.store.tables import metadata

    published = catalog(metadata)
    out = []
    for name in DEFAULT_TABLES:
        table = published[name]
        out.append(f"## `{name}`\n")
        out.append(f"Key: {', '.join(f'`{c}`' for c in table.key)}.")
        if table.references:
            refs = ", ".join(f"`{c}` → `{t}.{col}`" for c, (t, col) in table.references.items())
            out.append(f"References: {refs}.")
        out.append("\n| column | type |\n|---|---|")
        out += [f"| `{column}` | {kind} |" for column, kind in table.columns.items()]
        out.append("")
    return "\n".join(out)


GENERATED = {"standard-model.md": render_standard_model, "published-tables.md": render_published_tables}


def _generated_part(text: str) -> str:
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def regenerate() -> None:
    for page, render in GENERATED.items():
        path = DOCS / page
        head, rest = path.read_text(encoding="utf-8").split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        path.write_text(f"{head}{BEGIN}\n\n{render()}\n{END}{tail}", encoding="utf-8")


# -- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", sorted(GENERATED))
def test_generated_reference_matches_the_code(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"docs/{page} lost its generated-part markers"
    assert _generated_part(text) == GENERATED[page]().strip("\n"), (
        f"docs/{page} no longer matches the code: run `python tests/test_docs.py` and review the diff"
    )


def _hookspecs():
    from hub import hookspecs

    return {
        name: func
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(func, "kpihub_spec")
    }


def _written_signature(func) -> str:
    """The signature as written in hub/hookspecs.py (annotations are kept as source text)."""
    params = ", ".join(f"{p.name}: {p.annotation}" for p in inspect.signature(func).parameters.values())
    return f"def {func.__name__}({params}) -> {inspect.signature(func).return_annotation}"


def _hook_sections() -> dict[str, str]:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    parts = re.split(r"^## `(\w+)`\s*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_hook_is_documented_with_its_signature():
    sections = _hook_sections()
    specs = _hookspecs()
    assert sorted(sections) == sorted(specs), "docs/hooks.md needs one section per hookspec, no more"
    for name, func in specs.items():
        section = sections[name]
        signature = _written_signature(func)
        assert f"```python\n{signature}\n```" in section, f"{name}: document the signature `{signature}`"
        for heading in ("**Parameters**", "**When it is called**", "**Example**"):
            assert heading in section, f"{name}: the section needs {heading}"
        for param in inspect.signature(func).parameters:
            assert f"`{param}`" in section.split("**When it is called**")[0], f"{name}: describe `{param}`"
        assert "@hookimpl" in section, f"{name}: give an example implementation"


def test_docs_build_without_warnings(tmp_path):
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).with_name("mkdocs"))
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    for page in ("index", "tutorial", "hooks", "standard-model", "published-tables", "mapping", "testing"):
        assert (tmp_path / "site" / page / "index.html").is_file() or (
            page == "index" and (tmp_path / "site" / "index.html").is_file()
        ), f"{page} was not built"


if __name__ == "__main__":
    # Run as a script, this directory comes first on sys.path and tests/sdk would shadow sdk.
    here = Path(__file__).parent.resolve()
    sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != here)]
    regenerate()
