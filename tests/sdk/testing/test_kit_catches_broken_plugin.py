"""The kit fails a deliberately broken plugin (tests/fixtures/brokenshop) and says what to fix.

The kit is run as a plugin author runs it: a test module subclassing ``SourceKit``, a
``conftest.py`` loading ``hub.testing``, and pytest in a separate process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from child_pytest import run_pytest

FIXTURES = Path(__file__).parents[2] / "fixtures"

TEST_MODULE = """
from brokenshop import BrokenSimulator, BrokenSource
from sdk.testing import KitCase, SourceKit


class TestBrokenContract(SourceKit):
    source = BrokenSource

    def case(self, tmp_path):
        return KitCase(
            options={"shop_id": "B1"},
            credentials={"account": "acme", "api_secret": BrokenSimulator.API_KEY},
            simulator=BrokenSimulator(),
        )
"""

# Each kit test, and what its failure must tell the author.
EXPECTED = {
    "test_options_refuse_unknown_and_invalid_keys": [
        "accepts the unknown key 'kit_unknown_key'",
        "Options.page_size accepts anything: give the field a precise type",
    ],
    "test_secret_fields_are_marked": ["Credentials.api_secret holds a secret: type it pydantic.SecretStr"],
    "test_check_accepts_good_and_refuses_bad_credentials": ["check() accepted wrong credentials"],
    "test_records_map_to_valid_standard_rows": [
        "orders.currency",
        "Source.stats() reports no requests",
    ],
    "test_primary_keys_are_present_and_unique": ["two different records share primary key"],
    "test_incremental_run_after_no_change_writes_nothing": [
        "cannot be stored as JSON",
        "read from the state your checkpoints saved",
    ],
    "test_interrupted_run_resumes_to_the_same_rows": ["cut after"],
    "test_retries_and_token_refresh_go_through_the_sdk": ["some calls bypass sdk.http.ApiClient"],
    "test_secrets_never_reach_logs": [
        "1 secret value(s) appear in: INFO brokenshop: GET /orders?page=0 with key <a secret>"
    ],
}


def test_kit_fails_the_broken_plugin_with_messages_that_say_what_to_fix(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["hub.testing"]\n')
    (tmp_path / "test_contract.py").write_text(TEST_MODULE)
    pythonpath = [FIXTURES, os.environ.get("PYTHONPATH", "")]
    result = run_pytest(["--rootdir", str(tmp_path), str(tmp_path)], tmp_path, pythonpath, timeout=300)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    failed = set(re.findall(r"FAILED test_contract.py::TestBrokenContract::(\w+)", out))
    assert failed == set(EXPECTED), out
    sections = _failure_sections(out)
    for test, messages in EXPECTED.items():
        for message in messages:
            assert message in sections[test], f"{test} should say {message!r}:\n{sections[test]}"
    assert "Traceback" not in out and "sdk/testing/" not in out, "kit failures show no traceback into the kit"
    verdicts = [section.split("- Captured")[0] for section in sections.values()]
    assert not [v for v in verdicts if "bk-live-7f3a9c" in v], "the kit's own report never quotes the secret"


def _failure_sections(out):
    parts = re.split(r"_{3,} TestBrokenContract\.(\w+) _{3,}", out)
    return dict(zip(parts[1::2], parts[2::2], strict=True))
