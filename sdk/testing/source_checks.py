"""The source contract, as functions returning what is wrong (an empty list when nothing is).

``SourceKit`` runs these as pytest tests; they are plain functions so a plugin's own tests,
or a CI script, can call them too. Every message says what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from ..errors import CredentialError
from ..options import secret_field_names
from ..source import Source
from .case import KitCase
from .runner import SECRET_NAME, KitRunner, RowKey, RunOutcome, secret_names

__all__ = [
    "SECRET_NAME",
    "bad_credentials",
    "check_problems",
    "credential_spec_problems",
    "leaked_secrets",
    "option_problems",
    "run_problems",
    "table_differences",
]


_UNKNOWN = "kit_unknown_key"
_WRONG_TYPE = {"kit": ["not", "a", "valid", "value"]}


def _refuses(model: type[BaseModel], values: dict[str, Any]) -> ValidationError | None:
    try:
        model.model_validate(values)
    except ValidationError as exc:
        return exc
    return None


def _untyped(annotation: Any) -> bool:
    """Whether a field accepts anything, so a wrong-type probe says nothing about it."""
    if annotation is Any or annotation is object:
        return True
    return any(_untyped(arg) for arg in get_args(annotation))


def option_problems(source: type[Source], case: KitCase) -> list[str]:
    """Options and credentials refuse unknown keys, wrong types and the author's invalid sets."""
    problems: list[str] = []
    for what, model, good in (
        ("Options", source.Options, case.options),
        ("Credentials", source.Credentials, case.credentials),
    ):
        if (error := _refuses(model, good)) is not None:
            problems.append(f"the case's {what.lower()} are refused by {source.__name__}.{what}: {error}")
            continue
        refused = _refuses(model, {**good, _UNKNOWN: 1})
        if refused is None:
            problems.append(
                f"{source.__name__}.{what} accepts the unknown key {_UNKNOWN!r}: subclass "
                f"sdk.PluginOptions/CredentialSpec (model_config extra='forbid') so typos are refused"
            )
        elif _UNKNOWN not in str(refused):
            problems.append(f"{source.__name__}.{what} refuses an unknown key without naming it: {refused}")
        for name, info in model.model_fields.items():
            if info.annotation is Any or info.annotation is object:
                problems.append(
                    f"{source.__name__}.{what}.{name} accepts anything: give the field a precise type"
                )
                continue
            if _untyped(info.annotation):  # e.g. dict[str, Any]: free-form by design
                continue
            if _refuses(model, {**good, name: _WRONG_TYPE}) is None:
                problems.append(
                    f"{source.__name__}.{what}.{name} accepts {_WRONG_TYPE!r}: give the field a precise type"
                )
    for invalid in case.invalid_options:
        if _refuses(source.Options, invalid) is None:
            problems.append(
                f"{source.__name__}.Options accepts {invalid!r}, which the case lists as invalid: "
                "add a validator"
            )
    return problems


def credential_spec_problems(source: type[Source], case: KitCase) -> list[str]:
    """Secret-looking credential fields are ``SecretStr``; no secret shows in a ``repr``."""
    problems: list[str] = []
    secret = set(secret_field_names(source.Credentials))
    for name in source.Credentials.model_fields:
        if SECRET_NAME.search(name) and name not in secret:
            problems.append(
                f"{source.__name__}.Credentials.{name} holds a secret: type it pydantic.SecretStr "
                "so it never shows in a repr, a log line or an error"
            )
    if _refuses(source.Credentials, case.credentials) is None:
        credentials = source.Credentials.model_validate(case.credentials)
        shown = f"{credentials!r} {credentials} {credentials.model_dump()}"
        for name in secret:
            value = case.credentials.get(name)
            if isinstance(value, str) and len(value) >= 4 and value in shown:
                problems.append(f"{source.__name__}.Credentials shows the value of {name!r} in its repr")
    return problems


def bad_credentials(source: type[Source], case: KitCase) -> dict[str, Any] | None:
    """The case's refused credentials, or its good ones with every secret altered; None if none."""
    if case.bad_credentials is not None:
        return case.bad_credentials
    names = [n for n in secret_names(source.Credentials) if case.credentials.get(n)]
    if not names:
        return None
    return {**case.credentials, **{n: f"kit-wrong-{str(case.credentials[n])[::-1]}" for n in names}}


async def check_problems(runner: KitRunner, source: type[Source], case: KitCase) -> list[str]:
    """``check()`` passes with the case's credentials and raises ``CredentialError`` with bad ones."""
    problems: list[str] = []
    good = runner.open()
    try:
        await good.check()
    except Exception as exc:  # noqa: BLE001 - whatever it raised is the finding
        problems.append(f"check() failed with the case's good credentials: {type(exc).__name__}: {exc}")
    finally:
        await good.aclose()
    bad_values = bad_credentials(source, case)
    if bad_values is None:
        return problems
    bad = runner.open(bad_values)
    secrets = _secret_values(source, bad_values) | runner.secrets
    try:
        await bad.check()
    except CredentialError as exc:
        if leaked_secrets([str(exc)], secrets):
            problems.append(
                "check()'s CredentialError quotes a secret value: say which field, never its value"
            )
        if len(str(exc)) < 10:
            problems.append(f"check()'s CredentialError says too little ({exc!s}): say what was refused")
    except Exception as exc:  # noqa: BLE001 - whatever it raised is the finding
        problems.append(
            f"check() raised {type(exc).__name__} for refused credentials: raise sdk.CredentialError "
            f"(terminal, shown to the user) instead: {exc}"
        )
    else:
        problems.append(
            "check() accepted wrong credentials: make one authenticated call in check() and raise "
            "sdk.CredentialError when the platform refuses it"
        )
    finally:
        await bad.aclose()
    return problems


def _secret_values(source: type[Source], values: dict[str, Any]) -> set[str]:
    return {str(values[n]) for n in secret_names(source.Credentials) if values.get(n)}


def run_problems(outcome: RunOutcome, *, what: str = "the run") -> list[str]:
    """Every record mapped to valid rows; keys present, unique, and no two records' rows collide."""
    problems = [f"{what}: {p}" for p in outcome.problems]
    problems += [f"{what}: primary key is not unique: {d}" for d in outcome.duplicates]
    problems += [
        f"{what}: rows overwrite each other (make the natural key columns distinguish them): {c}"
        for c in outcome.collisions
    ]
    return problems


def table_differences(
    want: dict[RowKey, dict[str, Any]], got: dict[RowKey, dict[str, Any]], *, limit: int = 5
) -> list[str]:
    """How two sets of stored rows differ, a few examples of each kind."""
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    changed = [k for k in want if k in got and want[k] != got[k]]
    out = []
    if missing:
        out.append(f"{len(missing)} row(s) missing, e.g. {missing[:limit]}")
    if extra:
        out.append(f"{len(extra)} extra row(s), e.g. {extra[:limit]}")
    for key in changed[:limit]:
        diff = {
            c: (want[key].get(c), got[key].get(c)) for c in want[key] if want[key].get(c) != got[key].get(c)
        }
        out.append(f"row {key} differs (expected, got): {diff}")
    if len(changed) > limit:
        out.append(f"... {len(changed) - limit} more changed row(s)")
    return out


def leaked_secrets(texts: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """Which texts quote a secret value; every secret in the excerpt shown is masked."""
    secret_list = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
    found = []
    for text in texts:
        hits = [secret for secret in secret_list if secret in text]
        if not hits:
            continue
        masked = text
        for secret in secret_list:
            masked = masked.replace(secret, "<a secret>")
        found.append(f"{len(hits)} secret value(s) appear in: {masked[:300]}")
    return found
