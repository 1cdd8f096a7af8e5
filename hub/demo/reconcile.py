"""The demo's reconciliation (对账): the seller's own daily report, with four planted differences.

The finance team keeps a daily sales report per shop (``reconcile/seller-report.xlsx``) with
the list of orders behind it, worked out from the same orders as kpihub, except that:

- one order is left out of one shop's day (its figures and its order list);
- one shop's day is counted in China time, so orders near midnight move to another day (that
  shop's orders are not in the order list: its figures came from another system);
- one shop's day is converted at a rate 1 % above the day's rate;
- one refund is counted on its order's day instead of its own.

Each is chosen from the demo's own orders, so it exists whatever day the demo runs. The report
is reconciled as ``kpihub reconcile`` would, the outcome exported beside it, and the plants
written down (``planted.json``) so anyone can check that each was found, and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from ..context import HubContext
from ..kpi import current_basis, resolve_tenant
from ..reconcile import Reconciliation, parse_map, read_report, reconcile, write_xlsx
from ..reconcile.ledger import Entry, Ledger, load_ledger
from .world import DemoSeller

__all__ = ["CHINA", "MAP", "Plant", "reconcile_demo"]

TENANT = "default"
CHINA = "Asia/Shanghai"
FOLDER = "reconcile"
MAP = """\
# The seller's daily report, a row per day and shop: kpihub reconcile seller-report.xlsx --map map.yaml
sheet: 销售日报
scope: shop
grain: day
columns:
  date: 日期
  shop: 店铺
  metrics:
    gmv: 销售额
    orders: 订单数
    net_sales: 净销售额
currency: CNY
tolerance: 0.01
timezone: Asia/Shanghai
orders:
  sheet: 订单明细
  columns:
    order_id: 订单号
    shop: 店铺
    date: 日期
    amount: 金额
"""
_CENT = Decimal("0.01")
Cell = tuple[str, dt.date]
"""(shop key, day): one row of the report."""
Figures = dict[Cell, list[Decimal]]
"""[GMV, orders, refunds] per row, in the base currency."""


class _UI(Protocol):
    def step(self, text: str) -> None: ...


@dataclass(frozen=True)
class Plant:
    """One planted difference: what, in which shop's day, and the order, refund or rate behind it."""

    kind: str
    shop: str
    day: dt.date
    ident: str | None = None
    rate: Decimal | None = None
    other_day: dt.date | None = None


class _Books:
    """The orders and refunds of the report's days, dated as kpihub dates them, or otherwise."""

    def __init__(self, ledger: Ledger, days: list[dt.date]) -> None:
        self.ledger, self.days = ledger, days
        self.entries = [e for e in ledger.entries if not e.cancelled]
        self.shops = sorted(ledger.shops)
        self.currency = {e.shop: e.currency for e in self.entries}

    def day(self, entry: Entry) -> dt.date | None:
        return self.ledger.day(entry)

    def china_day(self, entry: Entry) -> dt.date | None:
        return self.ledger.day(entry, other_zone=True)

    def other_dating(self, entry: Entry) -> dt.date | None:
        return self.ledger.day(entry, other_dating=True)

    def eastern(self, shop: str) -> bool:
        """Whether the shop's days are China's (UTC+8 throughout), so no time zone blurs a plant."""
        zone, china = ZoneInfo(self.ledger.zone(shop)), ZoneInfo(CHINA)
        instants = [dt.datetime.combine(d, dt.time(12), dt.UTC) for d in (self.days[0], self.days[-1])]
        return all(at.astimezone(zone).utcoffset() == at.astimezone(china).utcoffset() for at in instants)

    def figures(
        self, day_of: Callable[[Entry], dt.date | None], rates: dict[Cell, Decimal] | None = None
    ) -> Figures:
        found: Figures = defaultdict(lambda: [Decimal(0)] * 3)
        for e in self.entries:
            day = day_of(e)
            if day is None or day not in self.days:
                continue
            rate = (rates or {}).get((e.shop, day))
            base = e.amount * rate if rate is not None else self.ledger.base(e, day)
            cell = found[e.shop, day]
            cell[2 if e.is_refund else 0] += base
            cell[1] += 0 if e.is_refund else 1
        return found


def _china_time(books: _Books, honest: Figures, refund_shop: str) -> Cell:
    """A western shop's day whose GMV moves in China time, with as few orders moving as can be
    (not the shop whose refunds are dated otherwise)."""
    china = books.figures(books.china_day)

    def movers(cell: Cell) -> int:
        shop, day = cell
        return sum(
            1
            for e in books.entries
            if e.shop == shop and (books.day(e) == day) != (books.china_day(e) == day)
        )

    cells = [(s, d) for d in books.days for s in books.shops if not books.eastern(s) and s != refund_shop]
    return min(
        (c for c in cells if abs(china[c][0] - honest[c][0]) > 1), key=lambda c: (movers(c), c[1], c[0])
    )


def _refunds(books: _Books) -> list[Entry]:
    """The refunds the report dates by their orders' days: one refund whose two days are both in
    the report and which no other refund of its shop shares (eastern shops first: no time zone
    can blur them); failing that, every such refund of the shop that has the fewest."""
    moving = [e for e in books.entries if e.is_refund and books.day(e) != books.other_dating(e)]
    inside = [e for e in moving if books.day(e) in books.days and books.other_dating(e) in books.days]

    def alone(r: Entry) -> bool:
        days = {books.day(r), books.other_dating(r)}
        return not any(
            o is not r and o.shop == r.shop and {books.day(o), books.other_dating(o)} & days for o in moving
        )

    single = [r for r in inside if alone(r)]
    if single:
        return [min(single, key=lambda r: (not books.eastern(r.shop), str(books.day(r)), r.shop, r.ident))]
    shop = min(
        {e.shop for e in inside}, key=lambda s: (not books.eastern(s), sum(e.shop == s for e in moving), s)
    )
    return sorted((e for e in moving if e.shop == shop), key=lambda e: e.ident)


def _plants(books: _Books, honest: Figures) -> list[Plant]:
    refunds = _refunds(books)
    refund_shop = refunds[0].shop
    touched = {
        (refund_shop, d) for r in refunds for d in (books.day(r), books.other_dating(r)) if d is not None
    }
    china_shop, china_day = _china_time(books, honest, refund_shop)
    taken = {(china_shop, china_day), *touched}
    base = books.ledger.base_currency
    rated = [
        (s, d) for d in books.days for s in books.shops
        if books.eastern(s) and (s, d) not in taken and books.currency.get(s, base) != base
        and honest[s, d][1] > 0 and honest[s, d][0] != honest[s, d][2]
    ]  # fmt: skip
    rated_shop, rated_day = max(rated, key=lambda c: honest[c][0])
    rate = books.ledger.rate(books.currency[rated_shop], rated_day)
    assert rate is not None
    taken.add((rated_shop, rated_day))
    refunded = {(e.shop, e.order_id) for e in books.entries if e.is_refund}

    def may_leave_out(e: Entry) -> bool:
        """An order without refunds, of a shop in the order list, on a day with another order."""
        day = books.day(e)
        ok = not e.is_refund and e.shop != china_shop and (e.shop, e.order_id) not in refunded
        return ok and day in books.days and (e.shop, day) not in taken and honest[e.shop, day][1] >= 2

    left = next(e for e in books.entries if may_leave_out(e))
    left_day = books.day(left)
    assert left_day is not None
    return [
        Plant("left_out", left.shop, left_day, left.ident),
        Plant("china_time", china_shop, china_day),
        Plant(
            "another_rate", rated_shop, rated_day, rate=(rate * Decimal("1.01")).quantize(Decimal("0.0001"))
        ),
        *[
            Plant("refund_in_other_period", r.shop, books.day(r), r.ident, other_day=books.other_dating(r))  # type: ignore[arg-type]
            for r in refunds
        ],
    ]


def _report(books: _Books, plants: list[Plant]) -> tuple[Figures, list[tuple[str, str, dt.date, Decimal]]]:
    """The report's figures and its order list, with the plants in them."""
    by_kind = {p.kind: p for p in plants}
    rated = by_kind["another_rate"]
    assert rated.rate is not None
    rates = {(rated.shop, rated.day): rated.rate}
    figures = books.figures(books.day, rates)
    china = by_kind["china_time"]
    figures[china.shop, china.day] = books.figures(books.china_day)[china.shop, china.day]
    left = by_kind["left_out"]
    other_dating = {(p.shop, p.ident) for p in plants if p.kind == "refund_in_other_period"}
    detail = []
    for e in books.entries:
        day = books.day(e)
        if e.is_refund and (e.shop, e.ident) in other_dating:
            other = books.other_dating(e)
            if day in books.days:
                figures[e.shop, day][2] -= books.ledger.base(e, day)
            if other in books.days:
                figures[e.shop, other][2] += books.ledger.base(e, other)
        if e.is_refund or day is None or day not in books.days or e.shop == china.shop:
            continue
        rate = rates.get((e.shop, day))
        amount = e.amount * rate if rate is not None else books.ledger.base(e, day)
        if (e.shop, e.ident) == (left.shop, left.ident):
            figures[e.shop, day][0] -= amount
            figures[e.shop, day][1] -= 1
            continue
        detail.append((e.ident, e.shop, day, amount))
    return figures, detail


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _write(
    path: Path, books: _Books, figures: Figures, detail: list[tuple[str, str, dt.date, Decimal]]
) -> None:
    """The workbook as the finance team keeps it: shops by name, amounts to the cent."""
    names = {key: shop.name or key for key, shop in books.ledger.shops.items()}
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "销售日报"
    sheet.append(["日期", "店铺", "销售额", "订单数", "净销售额"])
    for day in books.days:
        for shop in books.shops:
            gmv, orders, refunds = figures.get((shop, day), [Decimal(0)] * 3)
            sheet.append([day, names[shop], _cents(gmv), int(orders), _cents(gmv - refunds)])
    orders_sheet = book.create_sheet("订单明细")
    orders_sheet.append(["订单号", "店铺", "日期", "金额"])
    for order_id, shop, day, amount in sorted(detail, key=lambda d: (d[2], d[1], d[0])):
        orders_sheet.append([order_id, names[shop], day, _cents(amount)])
    for ws in (sheet, orders_sheet):
        for row in ws.iter_rows(min_row=2):
            row[0 if ws is sheet else 2].number_format = "yyyy-mm-dd"
    book.save(path)


def _refund_words(plants: list[Plant]) -> str:
    count = sum(p.kind == "refund_in_other_period" for p in plants)
    return (
        "one refund on its order's day" if count == 1 else f"one shop's {count} refunds on their orders' days"
    )


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal | dt.date) else value


def reconcile_demo(ctx: HubContext, seller: DemoSeller, workdir: Path, ui: _UI) -> Reconciliation:
    """Write the seller's report with its plants, reconcile it and say how that went."""
    folder = workdir / FOLDER
    folder.mkdir(exist_ok=True)
    first, last = seller.world.start, seller.last_day
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    with ctx.ready_store.begin() as conn:
        tenant_id, base = resolve_tenant(conn, TENANT)
        basis = current_basis(conn, tenant_id).settings
        ledger = load_ledger(
            conn, tenant_id, base, basis, shops=None, first=first, last=last, report_zone=CHINA
        )
    books = _Books(ledger, days)
    plants = _plants(books, books.figures(books.day))
    figures, detail = _report(books, plants)
    report_path, map_path = folder / "seller-report.xlsx", folder / "map.yaml"
    _write(report_path, books, figures, detail)
    map_path.write_text(MAP, encoding="utf-8")
    planted = [{k: _plain(v) for k, v in asdict(p).items()} for p in plants]
    (folder / "planted.json").write_text(
        json.dumps(planted, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    colmap = parse_map(MAP, str(map_path))
    catalogue = ctx.catalogue
    result = reconcile(
        ctx.ready_store,
        TENANT,
        read_report(report_path, colmap),
        colmap,
        map_name=str(map_path),
        catalogue=catalogue,
    )
    write_xlsx(result, folder / "reconciliation.xlsx")
    ui.step(
        f"Reconciled the seller's own report {report_path} (one order left out, one shop-day in China time, "
        f"one at another rate, {_refund_words(plants)}): {result.summary()}; "
        f"details in {folder / 'reconciliation.xlsx'}"
    )
    return result
