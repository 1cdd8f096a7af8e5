"""The fake shop plugin of the test fixtures passes the source kit."""

from __future__ import annotations

from fakeshop.source import FakeShopSource

from hub.testing import kpihub_mapper  # noqa: F401 - the fixture the kit maps records with
from sdk.testing import KitCase, SourceKit


class TestFakeShopContract(SourceKit):
    source = FakeShopSource
    http = False  # the fake platform is generated in process

    def case(self, tmp_path):
        return KitCase(
            options={"shop_id": "S1", "seed": 7, "orders": 23, "page_size": 5},
            credentials={"seller_id": "A1", "api_key": "sk-test-123"},
        )
