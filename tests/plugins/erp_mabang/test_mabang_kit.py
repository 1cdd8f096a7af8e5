"""The Mabang connector passes the SDK's source kit against its simulator."""

from __future__ import annotations

import pytest

from hub.testing import kpihub_mapper  # noqa: F401 - the fixture the kit maps records with
from plugins.erp_mabang import MabangSource
from plugins.erp_mabang import client as mabang_client
from plugins.erp_mabang.simulator import MabangSimulator
from sdk.http import RateBudgets, RetryPolicy
from sdk.testing import KitCase, SourceKit

from .conftest import SCALE, mabang_options, make_world


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(mabang_client, "BUDGETS", RateBudgets())
    monkeypatch.setattr(
        mabang_client, "RETRY", RetryPolicy(attempts=8, initial=0.01, maximum=0.05, jitter=0.01)
    )


class TestMabangContract(SourceKit):
    source = MabangSource

    def case(self, tmp_path):
        sim = MabangSimulator(make_world(days=10, skus=20, orders_per_day=3.0, seed=5), time_scale=SCALE)
        creds = sim.credentials()
        return KitCase(
            # Pages of 40 so the kit can cut runs mid-listing.
            options={**mabang_options(sim), "max_rows": 40},
            credentials={"app_key": creds["app_key"], "app_secret": creds["app_secret"]},
            simulator=sim,
            invalid_options=[{**mabang_options(sim), "window_days": 0}],
        )
