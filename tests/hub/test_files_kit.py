"""The hub's default ``files`` source passes the SDK's source kit."""

from __future__ import annotations

import csv
import json

from hub.default_plugins.files import FilesSource
from hub.testing import kpihub_mapper  # noqa: F401 - the fixture the kit maps records with
from sdk.testing import KitCase, SourceKit


def _write_tables(directory):
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "orders.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "status", "currency", "created_at", "updated_at", "gross_amount"])
        for n in range(1, 13):
            stamp = f"2026-03-{n:02d}T10:00:00+08:00"
            writer.writerow(
                [f"F-{n:03d}", "paid" if n % 3 else "shipped", "CNY", stamp, stamp, f"{n * 12.5:.2f}"]
            )
    lines = [
        {"sku": f"SKU-{n}", "purchase_cost": str(n * 3), "currency": "CNY", "valid_from": "2026-01-01"}
        for n in range(1, 6)
    ]
    (directory / "sku_costs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


class TestFilesContract(SourceKit):
    source = FilesSource
    http = False  # reads a directory

    def case(self, tmp_path):
        _write_tables(tmp_path / "tables")
        return KitCase(
            options={"directory": str(tmp_path / "tables"), "shop_id": "spreadsheet"},
            invalid_options=[{}, {"directory": "/x", "encoding": 8}],
        )
