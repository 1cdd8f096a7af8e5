"""Alerts: once per breach with a cool-down, delivered through apprise to a real loopback webhook."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from hub.connections import ensure_tenant
from hub.kpi.alerts import add_rule, evaluate_alerts, list_alerts, list_rules, set_work_order_status
from hub.store.kpi_tables import kpi_fact
from hub.store.management_tables import alert_rules, work_orders
from hub.store.tables import audit_log, standard_tables, sync_runs
from sdk import ConfigError

T0 = dt.datetime(2026, 4, 20, 2, 0, tzinfo=dt.UTC)

# The point of these tests does not depend on the database: one is enough.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Receiver:
    """A webhook on loopback that keeps every JSON body it is sent."""

    def __init__(self):
        self.messages = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                received.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _acos(conn, tid, days):
    """Daily ACoS of shop amazon:S1, as the engine would have computed it."""
    for day, value in days.items():
        row = {
            "tenant_id": tid,
            "metric_id": "acos",
            "grain": "day",
            "period_start": day,
            "scope_type": "shop",
            "scope_id": "amazon:S1",
            "platform": "amazon",
            "shop_id": "S1",
            "value": value,
            "unit": "ratio",
            "basis_version": 1,
            "computed_at": T0,
            "contract_version": "1.0",
        }
        conn.execute(
            sa.delete(kpi_fact).where(kpi_fact.c.period_start == day, kpi_fact.c.metric_id == "acos")
        )
        conn.execute(kpi_fact.insert().values(**row))


def test_a_rule_fires_once_per_breach_honours_its_cool_down_and_reaches_the_webhook(hub, receiver):
    store, vault = hub.ready_store, hub.vault
    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        _acos(conn, tid, {dt.date(2026, 4, d): v for d, v in ((15, 0.30), (16, 0.41), (17, 0.44))})
    secret_url = f"json://ops:s3cr3t-pass@127.0.0.1:{receiver.port}/hook"
    add_rule(
        store,
        vault,
        {
            "name": "acos-high",
            "metric_id": "acos",
            "scope_type": "shop",
            "comparator": ">",
            "threshold": 0.35,
            "window": 2,
            "severity": "critical",
            "cooldown_minutes": 60,
            "channels": [secret_url],
            "work_order": True,
            "assignee": "li.lei",
        },
    )

    [alert] = evaluate_alerts(store, vault, now=T0)
    assert (alert.scope_id, alert.value, alert.delivery) == ("amazon:S1", 0.44, "sent")
    assert len(receiver.messages) == 1
    path, body = receiver.messages[0]
    assert path == "/hook"
    assert body["title"] == "[critical] kpihub alert acos-high"
    assert "acos of shop amazon:S1 is 0.44 (day of 2026-04-17), > 0.35 for 2 days running" in body["message"]
    assert f"alert {alert.alert_id}, work order {alert.work_order_id}" in body["message"]

    # Same breach, evaluated again: nothing new, nothing sent.
    assert evaluate_alerts(store, vault, now=T0 + dt.timedelta(minutes=5)) == []
    # Recovered: the alert is resolved.
    with store.begin() as conn:
        _acos(conn, tid, {dt.date(2026, 4, 18): 0.20})
    assert evaluate_alerts(store, vault, now=T0 + dt.timedelta(minutes=10)) == []
    assert [a["status"] for a in list_alerts(store)] == ["resolved"]
    # A new breach within the cool-down is held back ...
    with store.begin() as conn:
        _acos(conn, tid, {dt.date(2026, 4, 19): 0.50, dt.date(2026, 4, 20): 0.52})
    assert evaluate_alerts(store, vault, now=T0 + dt.timedelta(minutes=30)) == []
    # ... and raised once the cool-down has passed.
    [again] = evaluate_alerts(store, vault, now=T0 + dt.timedelta(minutes=61))
    assert again.value == 0.52
    assert len(receiver.messages) == 2
    assert [a["status"] for a in list_alerts(store)] == ["open", "resolved"]

    # The work order links to its alert and moves along.
    newest = list_alerts(store)[0]
    assert (newest["assignee"], newest["work_order_status"]) == ("li.lei", "open")
    set_work_order_status(store, newest["work_order_id"], "in_progress")
    with store.begin() as conn:
        order = conn.execute(sa.select(work_orders).where(work_orders.c.id == newest["work_order_id"])).one()
    assert (order.alert_id, order.status) == (newest["alert_id"], "in_progress")

    # The channel URL is stored encrypted and shown masked; its password is nowhere in plain text.
    with store.begin() as conn:
        stored = conn.execute(sa.select(alert_rules.c.channels)).scalar_one()
        audit = json.dumps([dict(r._mapping)["detail"] for r in conn.execute(sa.select(audit_log))])
    shown = json.dumps(list_rules(store, vault))
    for text in (stored, audit, shown):
        assert "s3cr3t-pass" not in text
    assert f"json://127.0.0.1:{receiver.port}/***" in shown  # by scheme and host: the path may be a token
    assert "/hook" not in shown and "/hook" not in audit


@SQLITE_ONLY
def test_a_channel_that_is_down_keeps_the_alert_logs_no_secret_and_is_retried(hub, caplog, receiver):
    from hub.kpi.alerts import update_rule

    store, vault = hub.ready_store, hub.vault
    with store.begin() as conn:
        _acos(conn, ensure_tenant(conn, "default"), {dt.date(2026, 4, 17): 0.9})
    channels = [
        f"json://ops:pa55-w0rd-x@127.0.0.1:{_closed_port()}/hook-t0ken-y",
        "dingtalk://dd0123456789abcdef/",
    ]
    add_rule(
        store,
        vault,
        {"name": "acos", "metric_id": "acos", "scope_type": "shop", "threshold": 0.5, "channels": channels},
    )
    caplog.set_level(logging.DEBUG)
    [alert] = evaluate_alerts(store, vault, now=T0)
    assert alert.delivery == "failed"
    assert [a["delivery"] for a in list_alerts(store)] == ["failed"]
    assert "POST URL" in caplog.text  # apprise did log where it posted ...
    for secret in ("pa55-w0rd-x", "hook-t0ken-y"):
        assert secret not in caplog.text  # ... with every secret masked
    # The channel is back (here: re-pointed to a live webhook): the open alert is sent, once.
    update_rule(store, vault, "acos", channels=[f"json://127.0.0.1:{receiver.port}/back"])
    assert evaluate_alerts(store, vault, now=T0 + dt.timedelta(minutes=5)) == []
    assert [a["delivery"] for a in list_alerts(store)] == ["sent"]
    assert len(receiver.messages) == 1
    assert f"alert {alert.alert_id}" in receiver.messages[0][1]["message"]
    evaluate_alerts(store, vault, now=T0 + dt.timedelta(minutes=10))
    assert len(receiver.messages) == 1


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_stale_data_and_failed_syncs_are_alertable(hub, connect, receiver):
    store, vault = hub.ready_store, hub.vault
    shop1, shop2 = connect("shop1"), connect("shop2")
    runs = [
        (
            shop1.id,
            "succeeded",
            T0 - dt.timedelta(hours=30),
            {"orders": (T0 - dt.timedelta(hours=29)).isoformat()},
        ),
        (
            shop2.id,
            "succeeded",
            T0 - dt.timedelta(hours=3),
            {"orders": (T0 - dt.timedelta(hours=2)).isoformat()},
        ),
        (shop1.id, "failed", T0 - dt.timedelta(hours=2), {}),
        (shop1.id, "failed", T0 - dt.timedelta(hours=1), {}),
    ]
    with store.begin() as conn:
        conn.execute(
            sync_runs.insert(),
            [
                {
                    "connection_id": c,
                    "kind": "sync",
                    "status": s,
                    "started_at": at,
                    "finished_at": at,
                    "errors": [],
                    "freshness": f,
                }
                for c, s, at, f in runs
            ],
        )
    url = f"json://127.0.0.1:{receiver.port}/ops"
    add_rule(store, vault, {"name": "stale", "kind": "stale_data", "threshold": 24, "channels": [url]})
    add_rule(store, vault, {"name": "failing", "kind": "sync_failed", "threshold": 2, "channels": [url]})
    raised = evaluate_alerts(store, vault, now=T0)
    assert sorted((a.rule, a.scope_id) for a in raised) == [("failing", "shop1"), ("stale", "shop1")]
    stale = next(a for a in raised if a.rule == "stale")
    assert stale.value == pytest.approx(29.0)
    assert len(receiver.messages) == 2
    assert evaluate_alerts(store, vault, now=T0 + dt.timedelta(minutes=1)) == []


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "r", "metric_id": "acos", "threshold": 1}, "a metric rule names metric_id and scope_type"),
        ({"name": "r", "metric_id": "acos", "scope_type": "galaxy", "threshold": 1}, "scope_type 'galaxy'"),
        (
            {"name": "r", "metric_id": "acos", "scope_type": "shop", "threshold": 1, "comparator": "=>"},
            "comparator: Input should be",
        ),
        ({"name": "r", "kind": "stale_data", "threshold": 0}, r"threshold must be more than 0 \(hours\)"),
        (
            {"name": "r", "metric_id": "acos", "scope_type": "shop", "threshold": 1, "window": 0},
            "window: Input should be greater than or equal to 1",
        ),
        (
            {
                "name": "r",
                "metric_id": "acos",
                "scope_type": "shop",
                "threshold": 1,
                "channels": ["nosuch://tok3n-abc@host"],
            },
            r"channel 1 \(nosuch\) is not a notification URL",
        ),
    ],
)
def test_bad_rules_are_refused_without_echoing_secrets(hub, rule, message):
    with pytest.raises(ConfigError, match=message) as caught:
        add_rule(hub.ready_store, hub.vault, rule)
    assert "tok3n" not in str(caught.value)
    with hub.ready_store.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(alert_rules)).scalar_one() == 0


@SQLITE_ONLY
def test_after_compute_refreshes_targets_scores_and_alerts_in_one_call(hub, receiver):
    from hub.kpi.after_compute import after_compute
    from hub.kpi.scorecards import save_template
    from hub.kpi.targets import list_targets, set_target

    store, vault = hub.ready_store, hub.vault
    with store.begin() as conn:
        tid = ensure_tenant(conn, "default")
        _acos(conn, tid, {dt.date(2026, 4, 17): 0.8})
        conn.execute(
            standard_tables["staff"]
            .insert()
            .values(tenant_id=tid, staff_id="P1", name="P1", role="ads", ingested_at=T0)
        )
        month = {
            "grain": "month",
            "period_start": dt.date(2026, 4, 1),
            "scope_type": "shop",
            "scope_id": "amazon:S1",
            "platform": "amazon",
            "shop_id": "S1",
            "unit": "ratio",
            "basis_version": 1,
            "computed_at": T0,
            "contract_version": "1.0",
        }
        conn.execute(kpi_fact.insert().values(tenant_id=tid, metric_id="acos", value=0.4, **month))
    set_target(
        store,
        metric_id="acos",
        grain="month",
        period="2026-04",
        scope_type="shop",
        scope_id="amazon:S1",
        value="0.3",
    )
    save_template(
        store, {"template_id": "ads", "role": "ads", "metrics": [{"metric_id": "acos", "weight": 100}]}
    )
    add_rule(
        store,
        vault,
        {
            "name": "acos",
            "metric_id": "acos",
            "scope_type": "shop",
            "threshold": 0.5,
            "channels": [f"json://127.0.0.1:{receiver.port}/x"],
        },
    )
    run = after_compute(store, vault, as_of=dt.date(2026, 4, 17), now=T0)
    [target] = list_targets(store)
    assert target.actual_value == Decimal("0.4")  # the fact, exactly
    assert run.targets == 1
    assert run.scorecard_rows == 2  # P1's card for April and for Q2
    assert [a.delivery for a in run.alerts] == ["sent"]


@SQLITE_ONLY
def test_a_rule_can_be_repointed_and_switched_off(hub, receiver):
    from hub.kpi.alerts import update_rule

    store, vault = hub.ready_store, hub.vault
    with store.begin() as conn:
        _acos(conn, ensure_tenant(conn, "default"), {dt.date(2026, 4, 17): 0.9})
    add_rule(
        store,
        vault,
        {
            "name": "acos",
            "metric_id": "acos",
            "scope_type": "shop",
            "threshold": 0.5,
            "channels": [f"json://127.0.0.1:{receiver.port}/old"],
        },
    )
    update_rule(store, vault, "acos", enabled=False)
    assert evaluate_alerts(store, vault, now=T0) == []
    update_rule(store, vault, "acos", enabled=True, channels=[f"json://127.0.0.1:{receiver.port}/new"])
    [alert] = evaluate_alerts(store, vault, now=T0)
    assert alert.delivery == "sent"
    assert [path for path, _ in receiver.messages] == ["/new"]
    with pytest.raises(ConfigError, match="no alert rule named 'nope'"):
        update_rule(store, vault, "nope", enabled=False)
