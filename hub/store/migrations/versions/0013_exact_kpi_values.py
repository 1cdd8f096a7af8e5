"""kpi_measures, kpi_fact: exact decimals, and the coverage of each value

Measures and published values were doubles, summed in whatever order the database scanned
them; they are now exact decimals (NUMERIC; on SQLite an integer of ten-thousandths for
measures and the decimal's text for published values). Measures count the input rows they
summed and how many of them had every input known, and each fact publishes its coverage and,
when it is published as unknown, why. The engine's measures are emptied and its state
forgotten, so the next compute recomputes everything exactly.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

VALUE_COLUMNS = ("value", "numerator", "denominator")


def _types(dialect: str) -> tuple[sa.types.TypeEngine, sa.types.TypeEngine]:
    """(measure, published value) as each store keeps them."""
    if dialect == "sqlite":
        return sa.BigInteger(), sa.String(48)
    return sa.Numeric(38, 4), sa.Numeric(38, 10)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    measure, value = _types(dialect)
    op.create_table(
        "kpi_moved",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_table", sa.String(64), nullable=False),
        sa.Column("platform", sa.String(128), nullable=True),
        sa.Column("shop_id", sa.String(128), nullable=True),
        sa.Column("moments", sa.JSON(), nullable=False, comment="ISO dates and UTC times the row was dated by"),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        comment="where a replaced or removed standard row was counted before: its old (shop, day) "
        "partitions are recomputed by the next incremental compute; engine-internal",
    )
    op.create_index(op.f("ix_kpi_moved_tenant_id_recorded_at"), "kpi_moved", ["tenant_id", "recorded_at"])
    op.execute(sa.text("DELETE FROM kpi_measures"))
    op.execute(sa.text("DELETE FROM kpi_compute_state"))
    with op.batch_alter_table("kpi_measures") as batch:
        batch.alter_column("value", type_=measure, existing_nullable=False, comment="exact, four places")
        batch.add_column(
            sa.Column(
                "input_rows",
                sa.Integer(),
                nullable=False,
                server_default="0",
                comment="source rows counted (or samples)",
            )
        )
        batch.add_column(
            sa.Column(
                "known_rows",
                sa.Integer(),
                nullable=False,
                server_default="0",
                comment="of them, those whose inputs were all known",
            )
        )
    with op.batch_alter_table("kpi_fact") as batch:
        for name in VALUE_COLUMNS:
            kwargs = {"postgresql_using": f"{name}::numeric"} if dialect == "postgresql" else {}
            batch.alter_column(name, type_=value, existing_nullable=True, **kwargs)
        batch.alter_column(
            "value",
            existing_type=value,
            existing_nullable=True,
            comment="exact; null when undefined (division by zero) or unknown (see unknown_reason), never 0",
        )
        batch.add_column(
            sa.Column(
                "coverage",
                value,
                nullable=True,
                comment="share of the input rows that were complete (FX rate, cost, fees known); null: no input",
            )
        )
        batch.add_column(
            sa.Column(
                "unknown_reason",
                sa.Text(),
                nullable=True,
                comment="why value is null though there was input: which inputs were incomplete",
            )
        )
        batch.add_column(
            sa.Column("input_rows", sa.Integer(), nullable=True, comment="source rows the value is computed from")
        )
        batch.add_column(
            sa.Column("known_rows", sa.Integer(), nullable=True, comment="of them, those whose inputs were all known")
        )
    with op.batch_alter_table("kpi_target") as batch:
        kwargs = {"postgresql_using": "actual_value::numeric"} if dialect == "postgresql" else {}
        batch.alter_column(
            "actual_value",
            type_=value,
            existing_nullable=True,
            comment="the KPI's value, exactly; null until it has one",
            **kwargs,
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("kpi_target") as batch:
        kwargs = {"postgresql_using": "actual_value::double precision"} if dialect == "postgresql" else {}
        batch.alter_column(
            "actual_value",
            type_=sa.Double(),
            existing_nullable=True,
            comment="null until the KPI has a value",
            **kwargs,
        )
    op.drop_index(op.f("ix_kpi_moved_tenant_id_recorded_at"), table_name="kpi_moved")
    op.drop_table("kpi_moved")
    op.execute(sa.text("DELETE FROM kpi_measures"))
    op.execute(sa.text("DELETE FROM kpi_compute_state"))
    with op.batch_alter_table("kpi_fact") as batch:
        batch.drop_column("known_rows")
        batch.drop_column("input_rows")
        batch.drop_column("unknown_reason")
        batch.drop_column("coverage")
        for name in VALUE_COLUMNS:
            kwargs = {"postgresql_using": f"{name}::double precision"} if dialect == "postgresql" else {}
            batch.alter_column(name, type_=sa.Double(), existing_nullable=True, **kwargs)
        batch.alter_column(
            "value",
            existing_type=sa.Double(),
            existing_nullable=True,
            comment="null when undefined (division by zero), never 0",
        )
    with op.batch_alter_table("kpi_measures") as batch:
        batch.drop_column("known_rows")
        batch.drop_column("input_rows")
        batch.alter_column("value", type_=sa.Double(), existing_nullable=False, comment=None)
