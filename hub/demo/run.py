"""``run_demo``: the whole product, offline, against the simulators, in one call.

The steps are the ones a seller's integrator takes with real shops: connect (credentials
encrypted, default mappings, one client override), sync, compute, set and split targets, score,
alert, push. Only the endpoints differ: loopback simulators instead of the platforms.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sdk import ConfigError

from ..connections import ConnectionInfo, add_connection, get_connection, open_source, update_connection
from ..context import HubContext
from ..kpi import compute, set_counting_basis
from ..kpi.after_compute import after_compute
from ..kpi.alert_channels import seal_channels
from ..kpi.alerts import add_rule, list_alerts
from ..kpi.decompose import decompose
from ..kpi.scorecards import save_template, scorecard_rows
from ..kpi.target_periods import period_start
from ..kpi.targets import set_target
from ..mapping_versions import save_override
from ..publish import PushResult, add_sink
from ..publish.catalog import DEFAULT_TABLES, STANDARD_FACTS
from ..settings import Settings
from ..store.kpi_tables import kpi_fact
from ..store.management_tables import alert_rules
from ..store.sink_tables import sinks
from ..store.tables import tenants
from ..sync import Progress as SyncProgress
from ..sync import RunResult, sync_connection
from ..vault import create_key_file
from .parallel import PushProgress, push_in_processes
from .platforms import SPEED, ConnectionSpec, Platforms, serve_platforms, serve_powerbi
from .receiver import Receiver, webhook_receiver
from .reconcile import reconcile_demo
from .world import FULL, DemoSeller, Size, build_seller, daily_rates, write_files

__all__ = ["DemoResult", "DemoUI", "PushProgress", "run_demo"]

TENANT = "default"
BASE_CURRENCY = "CNY"
"""The seller is a Chinese team: KPIs are in yuan, converted at the daily rates."""
FILES_CONNECTION = "seller-files"
# Relative to the tenant's areas, as a seller would name them (hub.destinations places them).
FILES_DIRECTORY = "seller-files"
CLIENT_DB = "client.db"
HYPER_FILE = "kpi.hyper"
OVERRIDE = {
    "targets": {
        "orders": {
            "fields": {
                "fulfilment_channel": {
                    "path": "fulfillment_type",
                    "transforms": [
                        {
                            "map_values": {
                                "values": {
                                    "FULFILLMENT_BY_TIKTOK": "platform",
                                    "FULFILLMENT_BY_SELLER": "own",
                                }
                            }
                        }
                    ],
                }
            }
        }
    }
}
"""The client override: this seller labels fulfilment as its ERP does (platform / own)."""
TEMPLATE = {
    "template_id": "operations",
    "role": "operations",
    "subject_type": "person",
    "sales_basis": "net_sales",
    "metrics": [
        {"metric_id": "sales_attainment", "weight": 40, "floor": 0.5, "cap": 1.5},
        {"metric_id": "roas", "weight": 20, "floor": 0.5, "cap": 1.2},
        {"metric_id": "refund_rate", "weight": 20, "cap": 1.5},
        {"metric_id": "negative_review_rate", "weight": 20, "cap": 1.5},
    ],
}
PERSON_TARGETS = {"roas": "3.0", "refund_rate": "0.03", "negative_review_rate": "0.12"}
"""Quarterly targets every operations person has beside the split sales target."""
ALERT_RULE = {
    "name": "negative-reviews-high",
    "metric_id": "negative_review_rate",
    "scope_type": "shop",
    "grain": "month",
    "comparator": ">",
    "threshold": 0.2,
    "severity": "warning",
    "work_order": True,
    "assignee": "customer-service",
}
BASIS = {"refund_rate_by": "amount"}
"""The counting-basis change the demo makes: refund rate as refunded amount over GMV."""
SALES_UPLIFT = 1.1
"""The quarter's sales target: this much above the quarter-to-date pace."""


class DemoUI:
    """What the demo shows while it runs; the CLI gives it a console and live progress bars."""

    def step(self, text: str) -> None:
        """A step begins."""

    def note(self, text: str) -> None:
        """A detail of the current step."""

    def sync_progress(self) -> AbstractContextManager[SyncProgress | None]:
        return nullcontext(None)

    def push_progress(self) -> AbstractContextManager[PushProgress | None]:
        return nullcontext(None)


@dataclass
class DemoResult:
    """What one demo run did and where its outputs are."""

    workdir: Path
    incremental: bool
    seconds: float = 0.0
    syncs: dict[str, RunResult] = field(default_factory=dict)
    compute: dict[str, Any] = field(default_factory=dict)
    pushes: dict[str, PushResult] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    delivered: int = 0
    scorecard: list[dict[str, Any]] = field(default_factory=list)
    quarter: dt.date | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    receiver: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return all(r.status == "succeeded" for r in self.syncs.values()) and all(
            p.succeeded for p in self.pushes.values()
        )


class _Clock:
    """Seconds each step took, into ``timings``."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = round(now - self.last, 2)
        self.last = now


@dataclass(frozen=True)
class Paths:
    workdir: Path

    @property
    def database(self) -> Path:
        return self.workdir / "kpihub.db"

    @property
    def key(self) -> Path:
        return self.workdir / "master.key"

    @property
    def uploads(self) -> Path:
        """The demo tenant's upload area: the work directory is the demo hub's data directory."""
        return self.workdir / TENANT / "uploads"

    @property
    def outputs(self) -> Path:
        """The demo tenant's output area, where its SQLite and Tableau sinks write."""
        return self.workdir / TENANT / "outputs"

    @property
    def files(self) -> Path:
        return self.uploads / FILES_DIRECTORY

    @property
    def client_db(self) -> Path:
        return self.outputs / CLIENT_DB

    @property
    def hyper(self) -> Path:
        """Every published table in one Hyper file (as ``Extract.<table>``)."""
        return self.outputs / HYPER_FILE

    @property
    def marker(self) -> Path:
        """What this work directory holds: the seed, size and day of its demo seller."""
        return self.workdir / "demo.json"

    @property
    def powerbi_snapshot(self) -> Path:
        return self.workdir / "powerbi-dataset.json"

    @property
    def webhook_log(self) -> Path:
        return self.workdir / "webhook-received.jsonl"


def settings_for(workdir: Path) -> Settings:
    """The hub's settings for a demo work directory (its SQLite store and its master key).

    The demo is its hub's operator: it lets plugins reach its simulators on loopback, and
    keeps the tenant's upload and output areas in the work directory."""
    paths = Paths(workdir.resolve())
    return Settings(
        database_url=f"sqlite:///{paths.database}",
        master_key_file=paths.key,
        master_key=None,
        load_plugins=None,
        egress_allow="loopback",
        data_dir=paths.workdir,
    )


def run_demo(
    workdir: Path,
    seed: int,
    ui: DemoUI | None = None,
    *,
    size: Size = FULL,
    today: dt.date | None = None,
) -> DemoResult:
    """Run the demo in ``workdir`` (created if need be); a second run there is incremental.

    A second run serves the seller drawn on the first run's day, so it is the same world
    whatever day it runs on; only what the first run did not read is read.
    """
    ui = ui or DemoUI()
    started = time.perf_counter()
    paths = Paths(workdir.resolve())
    if paths.workdir.exists() and not paths.workdir.is_dir():
        raise ConfigError(f"--workdir {workdir} is a file; give a directory (it is created if missing)")
    paths.workdir.mkdir(parents=True, exist_ok=True)
    incremental, today = _claim(paths, seed, size, today or dt.datetime.now(dt.UTC).date())
    result = DemoResult(paths.workdir, incremental)
    if incremental:
        ui.step(f"Reusing the store {paths.database} and its master key: this run is incremental")
    else:
        create_key_file(paths.key)
        ui.step(f"Created a fresh store {paths.database} and a demo master key {paths.key} (mode 0600)")
    ctx = HubContext(settings_for(paths.workdir))
    try:
        ctx.store.migrate()
        clock = _Clock(result.timings)
        seller = build_seller(seed, size=size, today=today)
        ui.note(_describe(seller))
        clock.lap("world")
        with (
            webhook_receiver(paths.webhook_log) as receiver,
            serve_platforms(seller.world, ctx.registry) as platforms,
        ):
            result.receiver = receiver.channel
            ui.step(
                "Simulators listening on loopback: "
                + ", ".join(f"{n} {o}" for n, o in platforms.origins.items())
            )
            ui.note(f"rate limits: the documented ones x{SPEED:g}, for connector and simulator alike")
            mabang: Any = platforms.simulators["mabang"]
            erp_rates = {r["currencyId"]: r["rate"] for r in mabang.view.rates()}
            write_files(seller, paths.files, daily_rates(seller, erp_rates, BASE_CURRENCY))
            _connect(ctx, platforms, paths, ui, incremental)
            clock.lap("connect")
            _sync(ctx, platforms, result, ui)
            clock.lap("sync")
            _compute(ctx, result, ui)
            clock.lap("compute")
            _manage(ctx, seller, receiver, result, ui, incremental)
            reconcile_demo(ctx, seller, paths.workdir, ui)
            clock.lap("manage")
            with serve_powerbi(platforms) as powerbi:
                _push(ctx, paths, powerbi, result, ui, incremental)
                _powerbi_snapshot(platforms, paths.powerbi_snapshot)
            clock.lap("push")
        result.delivered = len(receiver.received)
        result.outputs = {
            "hub store": str(paths.database),
            "master key": str(paths.key),
            "client database": str(paths.client_db),
            "Tableau extract": str(paths.hyper),
            "Power BI": f"push dataset 'kpihub' (the simulator stops with the demo; what it held: "
            f"{paths.powerbi_snapshot})",
            "alerts received": str(paths.webhook_log),
            "seller files": str(paths.files),
        }
    finally:
        ctx.close()
    if not incremental:
        _completed(paths)
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def _claim(paths: Paths, seed: int, size: Size, today: dt.date) -> tuple[bool, dt.date]:
    """Whether ``paths`` holds this demo already (then the run is incremental), and the day its
    seller was drawn for; a directory holding something else is refused, never overwritten."""
    wanted = {"seed": seed, "size": [size.days, size.skus, size.orders_per_day]}
    if paths.marker.is_file():
        try:
            held = json.loads(paths.marker.read_text(encoding="utf-8"))
            same = {k: held[k] for k in wanted} == wanted
            drawn = dt.date.fromisoformat(held["today"])
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{paths.marker} is damaged; run the demo in a new --workdir") from None
        if not same:
            raise ConfigError(
                f"{paths.workdir} holds the demo of seed {held['seed']} at another size; "
                f"run with the same --seed and size, or choose another --workdir"
            )
        if not (paths.database.is_file() and paths.key.is_file()):
            raise ConfigError(
                f"{paths.workdir} lost its store or master key; run the demo in a new --workdir"
            )
        return True, drawn
    taken = [p.name for p in (paths.database, paths.key, paths.client_db) if p.exists()]
    if taken:
        raise ConfigError(
            f"{paths.workdir} already has {', '.join(taken)} from something other than the demo; "
            "choose another --workdir"
        )
    paths.marker.write_text(json.dumps({**wanted, "today": today.isoformat()}) + "\n", encoding="utf-8")
    return False, today


def _remove_outputs(paths: Paths) -> None:
    for path in (
        paths.database,
        paths.key,
        paths.client_db,
        paths.hyper,
        paths.webhook_log,
        paths.powerbi_snapshot,
    ):
        path.unlink(missing_ok=True)
    for directory in (paths.workdir / TENANT,):
        if directory.is_dir():
            shutil.rmtree(directory)


def _completed(paths: Paths) -> None:
    held = json.loads(paths.marker.read_text(encoding="utf-8"))
    paths.marker.write_text(json.dumps({**held, "complete": True}) + "\n", encoding="utf-8")


def _describe(seller: DemoSeller) -> str:
    world = seller.world
    sites = sorted({f"{s.platform}/{s.site}" for s in world.shops})
    new = sum(1 for s in world.shops if (world.start - s.launched_on).days < 180)
    return (
        f"demo seller: {len(world.shops)} shops ({new} new) on {', '.join(sites)}; {len(world.skus)} SKUs; "
        f"{len(world.orders())} orders from {world.start} to {seller.last_day}; {len(seller.teams)} teams, "
        f"{len(seller.staff)} people, {len(seller.reviews)} reviews"
    )


# -- connections --------------------------------------------------------------------------------


def _connect(ctx: HubContext, platforms: Platforms, paths: Paths, ui: DemoUI, incremental: bool) -> None:
    files = ConnectionSpec(
        FILES_CONNECTION, "files", {"directory": FILES_DIRECTORY}, None, "the seller's own files"
    )
    for spec in [*platforms.connections, files]:
        if incremental:
            # The simulators listen on new ports and hold new tokens each run.
            info = get_connection(ctx.ready_store, spec.name, tenant=TENANT)
            update_connection(
                ctx.ready_store,
                ctx.vault,
                ctx.registry,
                info,
                options=spec.options,
                credentials=spec.credentials,
                actor="demo",
                egress=ctx.egress,
            )
            continue
        add_connection(
            ctx.ready_store,
            ctx.vault,
            ctx.registry,
            name=spec.name,
            plugin=spec.plugin,
            options=spec.options,
            credentials=spec.credentials,
            tenant=TENANT,
            actor="demo",
            egress=ctx.egress,
        )
        secured = ", credentials encrypted" if spec.credentials else ""
        ui.note(f"connection {spec.name} ({spec.plugin}{secured}): {spec.describes}")
    if not incremental:
        _override(ctx, ui)
        with ctx.ready_store.begin() as conn:
            conn.execute(
                sa.update(tenants).where(tenants.c.name == TENANT).values(base_currency=BASE_CURRENCY)
            )
            tid = conn.execute(sa.select(tenants.c.id).where(tenants.c.name == TENANT)).scalar_one()
            basis = set_counting_basis(conn, tid, BASIS, actor="demo", note="refunds weighed by amount")
        ui.note(
            f"tenant {TENANT!r} reports in {BASE_CURRENCY}; counting basis v{basis.version}: "
            "refund rate = refunded amount / GMV"
        )


def _override(ctx: HubContext, ui: DemoUI) -> None:
    info = get_connection(ctx.ready_store, "tiktok", tenant=TENANT)
    source = open_source(ctx.ready_store, ctx.vault, ctx.registry, info, egress=ctx.egress)
    [orders] = [s for s in source.streams() if s.name == "orders"]
    with ctx.ready_store.begin() as conn:
        version = save_override(
            conn, info.id, orders, OVERRIDE, actor="demo", note="fulfilment labelled as in the ERP"
        )
    asyncio.run(source.aclose())
    ui.note(f"client mapping override v{version} on tiktok/orders: fulfilment_channel reads platform / own")


# -- sync ---------------------------------------------------------------------------------------


def _sync(ctx: HubContext, platforms: Platforms, result: DemoResult, ui: DemoUI) -> None:
    ui.step("Syncing every connection through the connectors and the HTTP toolkit")
    store = ctx.ready_store
    # The marketplaces together, then the ERP, then the seller's files: where two connections
    # write the same row (the ERP mirrors FBA stock and Amazon orders), the outcome does not
    # depend on which finished first, so a seed always gives the same numbers. The shop
    # register comes last, so its names and launch dates stand.
    erp = [spec.name for spec in platforms.connections if spec.plugin == "erp_mabang"]
    marketplaces = [spec.name for spec in platforms.connections if spec.name not in erp]
    phases = [marketplaces, erp, [FILES_CONNECTION]]

    def named(name: str, progress: SyncProgress | None) -> SyncProgress | None:
        """The progress callback with each line labelled by its connection."""
        if progress is None:
            return None
        shown = progress
        return lambda stream, partition, page: shown(f"{name}: {stream}", partition, page)

    async def run(chosen: list[ConnectionInfo], progress: SyncProgress | None) -> list[RunResult]:
        sources = [open_source(store, ctx.vault, ctx.registry, info, egress=ctx.egress) for info in chosen]
        runs = (
            sync_connection(store, i, s, progress=named(i.name, progress))
            for i, s in zip(chosen, sources, strict=True)
        )
        return list(await asyncio.gather(*runs))

    with ui.sync_progress() as progress:
        for names in phases:
            infos = [get_connection(store, name, tenant=TENANT) for name in names]
            for info, run_result in zip(infos, asyncio.run(run(infos, progress)), strict=True):
                result.syncs[info.name] = run_result


# -- KPIs and their management --------------------------------------------------------------------


def _compute(ctx: HubContext, result: DemoResult, ui: DemoUI) -> None:
    # The registered metric providers, as `kpihub compute` and the scheduler use them.
    catalogue = ctx.catalogue
    report = compute(ctx.ready_store, TENANT, catalogue=catalogue)
    result.compute = report.as_dict()
    how = "full" if report.full else "incremental"
    why = f" ({report.reason})" if report.reason else ""
    touched = f" for {report.partitions:,} shop-days" if report.partitions >= 0 else ""
    ui.step(
        f"Computed every KPI: {how}{why}, {report.facts_written:,} facts written{touched} "
        f"in {report.seconds:.1f} s"
    )


def _quarter_to_date(ctx: HubContext, quarter: dt.date) -> float:
    with ctx.ready_store.begin() as conn:
        tid = conn.execute(sa.select(tenants.c.id).where(tenants.c.name == TENANT)).scalar_one()
        value = conn.execute(
            sa.select(kpi_fact.c.value).where(
                kpi_fact.c.tenant_id == tid,
                kpi_fact.c.metric_id == "net_sales",
                kpi_fact.c.grain == "quarter",
                kpi_fact.c.period_start == quarter,
                kpi_fact.c.scope_type == "tenant",
            )
        ).scalar_one_or_none()
    return float(value or 0)


def _manage(
    ctx: HubContext, seller: DemoSeller, receiver: Receiver, result: DemoResult, ui: DemoUI, incremental: bool
) -> None:
    store, vault = ctx.ready_store, ctx.vault
    as_of = seller.last_day
    quarter = period_start("quarter", as_of)
    result.quarter = quarter
    if not incremental:
        save_template(store, TEMPLATE, actor="demo")
        so_far = _quarter_to_date(ctx, quarter)
        elapsed = (as_of - quarter).days + 1
        days = (period_start("quarter", quarter + dt.timedelta(days=93)) - quarter).days
        target = round(so_far / elapsed * days * SALES_UPLIFT, -3)
        set_target(
            store,
            metric_id="net_sales",
            grain="quarter",
            period=quarter,
            scope_type="tenant",
            scope_id=TENANT,
            value=str(int(target)),
            actor="demo",
        )
        split = decompose(
            store, metric_id="net_sales", grain="quarter", period=quarter, down_to="shop", actor="demo"
        )
        for person in seller.staff:
            for metric_id, value in PERSON_TARGETS.items():
                set_target(
                    store,
                    metric_id=metric_id,
                    grain="quarter",
                    period=quarter,
                    scope_type="person",
                    scope_id=person.staff_id,
                    value=value,
                    actor="demo",
                )
        ui.step(
            f"Quarterly net sales target {target:,.0f} for {quarter:%Y}-Q{(quarter.month - 1) // 3 + 1} "
            f"split by last quarter's share into {len(split.targets)} "
            "team, person and shop targets; scorecard template 'operations'"
        )
        add_rule(store, vault, {**ALERT_RULE, "channels": [receiver.channel]}, tenant=TENANT, actor="demo")
        ui.note(
            f"alert rule {ALERT_RULE['name']}: a shop's month with more than 20 % of reviews at 1-2 stars "
            "-> work order + the local webhook"
        )
    else:
        _repoint_rule(ctx, receiver)
    run = after_compute(store, vault, tenant=TENANT, as_of=as_of, score_grains=("quarter",))
    ui.step(
        f"Attainment of {run.targets} targets refreshed, {run.scorecard_rows} scorecard rows scored, "
        f"{len(run.alerts)} new alert(s) raised"
    )
    result.alerts = list_alerts(store, tenant=TENANT)
    result.scorecard = [
        dict(r) for r in scorecard_rows(store, grain="quarter", period=quarter, tenant=TENANT)
    ]


def _repoint_rule(ctx: HubContext, receiver: Receiver) -> None:
    """The receiver listens on a new port each run: the rule's (encrypted) channel follows it."""
    with ctx.ready_store.begin() as conn:
        conn.execute(
            sa.update(alert_rules)
            .where(alert_rules.c.name == ALERT_RULE["name"])
            .values(channels=seal_channels(ctx.vault, [receiver.channel]))
        )


# -- publishing -----------------------------------------------------------------------------------


def _powerbi_snapshot(platforms: Platforms, path: Path) -> None:
    """What the Power BI dataset holds once pushed (rows per table, the sum of kpi_fact values),
    written down because the simulator, and its dataset, end with the demo."""
    sim: Any = platforms.simulators["powerbi"]
    tables = sim.dataset("kpihub").tables
    facts = tables["kpi_fact"].rows if "kpi_fact" in tables else []
    snapshot = {
        "tables": {name: len(tables[name].rows) for name in sorted(tables)},
        "kpi_fact_value_sum": sum(float(r["value"]) for r in facts if r.get("value") is not None),
    }
    path.write_text(json.dumps(snapshot, indent=2) + "\n", encoding="utf-8")


def _push(
    ctx: HubContext, paths: Paths, powerbi: dict[str, Any], result: DemoResult, ui: DemoUI, incremental: bool
) -> None:
    store, vault, registry = ctx.ready_store, ctx.vault, ctx.registry
    tables = [*DEFAULT_TABLES, *STANDARD_FACTS]
    wanted: list[tuple[str, str, dict[str, Any], dict[str, Any] | None, list[str] | None]] = [
        ("client-db", "database", {}, {"url": f"sqlite:///{CLIENT_DB}"}, tables),
        ("tableau", "tableau", {"file": HYPER_FILE}, None, None),
        ("powerbi", "powerbi", powerbi["options"], powerbi["credentials"], None),
    ]
    for name, plugin, options, credentials, chosen in wanted:
        if not incremental:
            add_sink(
                store,
                vault,
                registry,
                name=name,
                plugin=plugin,
                options=options,
                credentials=credentials,
                tables=chosen,
                tenant=TENANT,
                actor="demo",
                egress=ctx.egress,
            )
    if incremental:
        # The Power BI simulator starts empty on a new port each run: point the sink at it.
        with store.begin() as conn:
            conn.execute(
                sa.update(sinks)
                .where(sinks.c.name == "powerbi")
                .values(options=powerbi["options"], credentials=vault.encrypt(powerbi["credentials"]))
            )
    ui.step("Pushing the published tables: client database, Tableau extract, Power BI")
    names = [name for name, *_ in wanted]
    # The Power BI simulator starts empty each run, so a later run rebuilds its tables.
    full = {"powerbi": incremental}
    with ui.push_progress() as progress:
        # The sinks are independent: each pushes in a process of its own, on its own core.
        result.pushes = push_in_processes(paths.workdir, TENANT, names, full, progress, result.timings)
