"""The published dimensions: dim_metric, dim_shop, dim_person and dim_team (dim_date: periods.py).

They are small, so each compute rewrites the tenant's rows from the standard dimension tables.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import Connection

from ..store.kpi_tables import CONTRACT_VERSION, dim_metric, dim_person, dim_shop, dim_team
from ..store.tables import standard_tables
from ..store.upsert import upsert
from .basis import CountingBasis
from .catalogue import Catalogue

__all__ = ["refresh_dimensions"]


def refresh_dimensions(
    conn: Connection, tenant_id: int, catalogue: Catalogue, basis: CountingBasis, today: dt.date
) -> set[str]:
    """Rewrite the tenant's dimension rows; return the timezones its shops use."""
    upsert(
        conn,
        dim_metric,
        [
            {
                "metric_id": m,
                "name_en": d.name_en,
                "name_zh": d.name_zh,
                "family": d.family,
                "kind": d.kind,
                "formula": d.formula,
                "direction": d.direction,
                "unit": d.unit,
                "provider": catalogue.providers.get(m, ""),
                "contract_version": CONTRACT_VERSION,
            }
            for m, d in catalogue.metrics.items()
            if d.published
        ],
    )
    shops, staff, teams, assignments = (
        standard_tables[n] for n in ("shops", "staff", "teams", "assignments")
    )
    team_of: dict[str, str | None] = {
        r.staff_id: r.team_id
        for r in conn.execute(
            sa.select(staff.c.staff_id, staff.c.team_id).where(staff.c.tenant_id == tenant_id)
        )
    }
    # The shop's team: the team of whoever is assigned to it today (first by staff id).
    shop_team: dict[str, str] = {}
    current = conn.execute(
        sa.select(assignments.c.scope_id, assignments.c.staff_id)
        .where(
            assignments.c.tenant_id == tenant_id,
            assignments.c.scope_type == "shop",
            assignments.c.valid_from <= today,
            sa.or_(assignments.c.valid_to.is_(None), assignments.c.valid_to >= today),
        )
        .order_by(assignments.c.staff_id)
    )
    for scope_id, staff_id in current:
        team = team_of.get(staff_id)
        if team:
            shop_team.setdefault(scope_id, team)
    zones: set[str] = set()
    shop_rows = []
    for row in conn.execute(sa.select(shops).where(shops.c.tenant_id == tenant_id)):
        key = f"{row.platform}:{row.shop_id}"
        zones.add(row.timezone)
        young = row.launched_on is not None and (today - row.launched_on).days < basis.new_shop_days
        shop_rows.append(
            {
                "tenant_id": tenant_id,
                "shop_key": key,
                "shop_id": row.shop_id,
                "platform": row.platform,
                "site": row.site,
                "shop_name": row.shop_name,
                "timezone": row.timezone,
                "currency": row.currency,
                "phase": "new" if young else "mature",
                "launched_on": row.launched_on,
                "team_id": shop_team.get(key) or shop_team.get(row.shop_id),
                "contract_version": CONTRACT_VERSION,
            }
        )
    people = [
        {
            "tenant_id": tenant_id,
            "person_id": r.staff_id,
            "name": r.name,
            "team_id": r.team_id,
            "role": r.role,
            "contract_version": CONTRACT_VERSION,
        }
        for r in conn.execute(sa.select(staff).where(staff.c.tenant_id == tenant_id))
    ]
    team_rows = [
        {
            "tenant_id": tenant_id,
            "team_id": r.team_id,
            "name": r.name,
            "parent_team_id": r.parent_team_id,
            "contract_version": CONTRACT_VERSION,
        }
        for r in conn.execute(sa.select(teams).where(teams.c.tenant_id == tenant_id))
    ]
    for table, rows in ((dim_shop, shop_rows), (dim_person, people), (dim_team, team_rows)):
        conn.execute(table.delete().where(table.c.tenant_id == tenant_id))
        if rows:
            conn.execute(table.insert(), rows)
    return zones
