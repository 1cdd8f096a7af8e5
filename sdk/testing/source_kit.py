"""``SourceKit``: the contract tests every source plugin passes, as one pytest base class.

A plugin author subclasses it in a test module, names the source and returns a working
``KitCase``::

    from sdk.testing import KitCase, SourceKit

    class TestMyShopContract(SourceKit):
        source = MyShopSource
        token_refresh = True

        def case(self, tmp_path):
            sim = MyShopSimulator(seed=3)
            return KitCase(options={"shop_id": "S1", "base_url": "http://sim"},
                           credentials=sim.credentials(), simulator=sim)

and adds ``pytest_plugins = ["hub.testing"]`` to the ``conftest.py`` at the root of the tests,
which gives the kit the hub's mapping engine (fixture ``kpihub_mapper``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ..simulator.faults import FaultKind, FaultPlan
from ..source import Source
from .case import KitCase
from .runner import KitRunner, RecordMapper, RunOutcome
from .source_checks import (
    bad_credentials,
    check_problems,
    credential_spec_problems,
    leaked_secrets,
    option_problems,
    run_problems,
    table_differences,
)

__all__ = ["SourceKit", "kit_mapper", "lent", "verdict"]

# 429s without Retry-After: simulators round Retry-After up to whole seconds, which would make
# every kit run slow; the client's own back-off is what is being proven here.
_FAULTS = (FaultKind.RATE_LIMIT_429_NO_RETRY_AFTER, FaultKind.SERVER_503, FaultKind.TRUNCATED_JSON)


def verdict(problems: list[str], heading: str) -> None:
    """Fail the test with every problem listed, without a traceback into the kit."""
    if problems:
        counted = Counter(problems)  # one line per distinct problem, in first-seen order
        lines = [f"{p} ({n} times)" if n > 1 else p for p, n in counted.items()]
        listed = "\n".join(f"  - {line}" for line in lines[:25])
        more = f"\n  ... and {len(lines) - 25} more" if len(lines) > 25 else ""
        pytest.fail(f"{heading}:\n{listed}{more}", pytrace=False)


def lent(request: pytest.FixtureRequest, fixture: str) -> Any:
    """A fixture the hub lends the kit (``hub.testing``), or a failure that says how to get it."""
    try:
        return request.getfixturevalue(fixture)
    except pytest.FixtureLookupError:
        pytest.fail(
            f'the kit needs the hub\'s {fixture!r}: add `pytest_plugins = ["hub.testing"]` '
            "to the conftest.py at the root of your tests",
            pytrace=False,
        )


def kit_mapper(request: pytest.FixtureRequest) -> RecordMapper:
    """The hub's mapping engine."""
    mapper: RecordMapper = lent(request, "kpihub_mapper")
    return mapper


class SourceKit:
    """Contract tests for ``source``; see the module docstring for how to use it.

    Class attributes a subclass may set:

    - ``http``: the source calls its platform over HTTP (through ``sdk.http.ApiClient``);
      ``False`` for sources that read files or a local system, which skips the fault test.
    - ``token_refresh``: its access tokens expire and are refreshed (revoked tokens are then
      among the injected faults).
    - ``fault_rate``: share of requests the simulator answers badly in the fault test (raised
      for small cases so a few faults always happen); ``fault_kinds``: which faults.
    - ``interrupt_points``: how many places a run is cut at in the resume test.
    """

    source: ClassVar[type[Source]]
    http: ClassVar[bool] = True
    token_refresh: ClassVar[bool] = False
    fault_rate: ClassVar[float] = 0.06
    fault_kinds: ClassVar[tuple[FaultKind, ...]] = _FAULTS
    interrupt_points: ClassVar[int] = 3

    def case(self, tmp_path: Path) -> KitCase:
        """A fresh working connection (and a fresh simulator): called once per kit run."""
        raise NotImplementedError(f"{type(self).__name__} must define case(self, tmp_path) -> KitCase")

    # -- plumbing ---------------------------------------------------------------------------

    def runner(self, case: KitCase, mapper: RecordMapper) -> KitRunner:
        return KitRunner(
            self.source,
            options=case.options,
            credentials=case.credentials,
            mapper=mapper,
            transport=case.http_transport(),
        )

    @pytest.fixture(scope="class")
    @classmethod
    def kit_baseline(
        cls, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> tuple[KitRunner, RunOutcome]:
        """One uninterrupted full run, shared by the tests that only read it."""
        # A class-scoped fixture runs once per class, so it works on an instance of its own.
        kit = cls()
        runner = kit.runner(kit.case(tmp_path_factory.mktemp("kit")), kit_mapper(request))
        return runner, asyncio.run(runner.run())

    # -- the contract -----------------------------------------------------------------------

    def test_options_refuse_unknown_and_invalid_keys(self, tmp_path: Path) -> None:
        verdict(option_problems(self.source, self.case(tmp_path)), "options and credentials")

    def test_secret_fields_are_marked(self, tmp_path: Path) -> None:
        verdict(credential_spec_problems(self.source, self.case(tmp_path)), "secret credential fields")

    def test_check_accepts_good_and_refuses_bad_credentials(
        self, tmp_path: Path, request: pytest.FixtureRequest
    ) -> None:
        case = self.case(tmp_path)
        runner = self.runner(case, kit_mapper(request))
        verdict(asyncio.run(check_problems(runner, self.source, case)), "check()")

    def test_records_map_to_valid_standard_rows(self, kit_baseline: tuple[KitRunner, RunOutcome]) -> None:
        runner, outcome = kit_baseline
        problems = [p for p in run_problems(outcome) if "primary key" not in p and "overwrite" not in p]
        if outcome.total_read == 0:
            problems.append("the source read no records: give the case a simulator or fixtures with data")
        streams = [s.name for s in runner.open().streams()]
        problems += [
            f"stream {name!r} read no records in the case, so its mapping is untested: give it data"
            for name in streams
            if outcome.total_read and not outcome.read[name]
        ]
        if outcome.stats.get("requests", 0) == 0 and self.http and outcome.total_read:
            problems.append(
                "Source.stats() reports no requests: call the platform through sdk.http.ApiClient and "
                "return its stats from Source.stats()"
            )
        verdict(problems, "mapping through the default mappings")

    def test_primary_keys_are_present_and_unique(self, kit_baseline: tuple[KitRunner, RunOutcome]) -> None:
        _, outcome = kit_baseline
        problems = [p for p in run_problems(outcome) if "primary key" in p or "overwrite" in p]
        verdict(problems, "primary keys")

    def test_incremental_run_after_no_change_writes_nothing(
        self, tmp_path: Path, request: pytest.FixtureRequest
    ) -> None:
        runner = self.runner(self.case(tmp_path), kit_mapper(request))
        first = asyncio.run(runner.run())
        second = asyncio.run(runner.run())
        problems: list[str] = []
        if second.written:
            problems.append(
                f"the second run, with nothing changed upstream, wrote {len(second.written)} row(s), "
                f"e.g. {second.written[:3]}: resume from the checkpoint state and keep mapped values "
                "stable (no 'now' in rows)"
            )
        if first.total_read and second.total_read >= first.total_read:
            problems.append(
                f"the second run read {second.total_read} records, as many as the first "
                f"({first.total_read}): read from the state your checkpoints saved"
            )
        problems += run_problems(second, what="the second run")
        verdict(problems, "incremental state")

    def test_interrupted_run_resumes_to_the_same_rows(
        self,
        tmp_path: Path,
        request: pytest.FixtureRequest,
        kit_baseline: tuple[KitRunner, RunOutcome],
    ) -> None:
        reference, outcome = kit_baseline
        total = outcome.total_read
        if total < 2:
            pytest.skip("the case reads fewer than two records: nothing to interrupt")
        points = sorted(
            {max(1, total * (n + 1) // (self.interrupt_points + 1)) for n in range(self.interrupt_points)}
        )
        problems: list[str] = []
        for point in points:
            runner = self.runner(self.case(tmp_path / f"cut{point}"), kit_mapper(request))
            cut = asyncio.run(runner.run(stop_after=point))
            resumed = asyncio.run(runner.run())
            where = f"cut after {point} of {total} records, then resumed"
            if not cut.interrupted:
                problems.append(f"{where}: the run was not cut (the case reads differently each time?)")
            problems += run_problems(resumed, what=where)
            problems += [f"{where}: {d}" for d in table_differences(reference.tables, runner.tables)]
            if set(runner.raw) != set(reference.raw):
                problems.append(
                    f"{where}: {len(set(reference.raw) - set(runner.raw))} raw record(s) never read: "
                    "yield a Checkpoint only after every record it covers"
                )
        verdict(problems, "resuming an interrupted run")

    def test_retries_and_token_refresh_go_through_the_sdk(
        self,
        tmp_path: Path,
        request: pytest.FixtureRequest,
        kit_baseline: tuple[KitRunner, RunOutcome],
    ) -> None:
        if not self.http:
            pytest.skip(f"{self.source.__name__} makes no HTTP calls (http = False)")
        case = self.case(tmp_path)
        sim = case.simulator
        if sim is None:
            pytest.skip("recorded fixtures cannot misbehave: give the case a simulator to prove retries")
        kinds = (*self.fault_kinds, FaultKind.TOKEN_REVOKED) if self.token_refresh else self.fault_kinds
        # A small case makes few requests: raise the rate so a handful of faults still happen.
        requests = max(1, kit_baseline[1].stats.get("requests", 0))
        rate = min(0.35, max(self.fault_rate, 3 / requests))
        sim.faults = plan = FaultPlan(7, {k: rate / len(kinds) for k in kinds}, retry_after=0.01)
        runner = self.runner(case, kit_mapper(request))
        outcome = asyncio.run(runner.run())
        problems = run_problems(outcome, what="with faults")
        problems += [f"with faults: {d}" for d in table_differences(kit_baseline[0].tables, runner.tables)]
        injected = dict(plan.injected)
        if not injected:
            problems.append("no fault was injected: raise fault_rate or give the case more data")
        retried = sum(n for kind, n in injected.items() if kind is not FaultKind.TOKEN_REVOKED)
        if outcome.stats.get("retries", 0) < retried:
            problems.append(
                f"{retried} transient faults were injected but Source.stats() reports "
                f"{outcome.stats.get('retries', 0)} retries: send every call through sdk.http.ApiClient "
                "and return its stats from Source.stats()"
            )
        revoked = injected.get(FaultKind.TOKEN_REVOKED, 0)
        if outcome.stats.get("token_refreshes", 0) < revoked:
            problems.append(
                f"{revoked} access tokens were revoked but Source.stats() reports "
                f"{outcome.stats.get('token_refreshes', 0)} refreshes: authorise with sdk.http.OAuthRefresh"
            )
        served = sum(s.requests for name, s in sim.stats.items() if sim.endpoints[name].faults)
        if outcome.stats.get("requests", 0) < served:
            problems.append(
                f"the simulator served {served} requests but Source.stats() counts "
                f"{outcome.stats.get('requests', 0)}: some calls bypass sdk.http.ApiClient"
            )
        verdict(problems, "retries and token refresh")

    def test_secrets_never_reach_logs(
        self, tmp_path: Path, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        case = self.case(tmp_path)
        if case.simulator is not None and self.http:
            kinds = (*self.fault_kinds, FaultKind.TOKEN_REVOKED) if self.token_refresh else self.fault_kinds
            # A few faults, so retry and refresh paths log too.
            case.simulator.faults = FaultPlan(11, dict.fromkeys(kinds, 0.05 / len(kinds)), retry_after=0.01)
        runner = self.runner(case, kit_mapper(request))
        texts: list[str] = []
        bad = bad_credentials(self.source, case)
        secrets = set(runner.secrets)
        if bad is not None:
            secrets |= {str(v) for k, v in bad.items() if v != case.credentials.get(k) and isinstance(v, str)}
            texts += asyncio.run(_check_messages(runner, bad))
        outcome = asyncio.run(runner.run())
        secrets |= runner.secrets
        # Each record as a handler would write it (traceback included), so a finding names its logger.
        formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
        texts += [*outcome.problems, *(formatter.format(r) for r in caplog.records)]
        verdict(
            leaked_secrets(texts, secrets), "secrets in logs and errors (mask them with sdk.http.Redactor)"
        )


async def _check_messages(runner: KitRunner, credentials: dict[str, Any]) -> list[str]:
    source = runner.open(credentials)
    try:
        await source.check()
    except Exception as exc:  # noqa: BLE001 - only its text matters here
        return [str(exc), repr(exc)]
    finally:
        await source.aclose()
    return []
