"""standard tables: lineage by the raw record's id

Each standard row named the raw record it came from by (connection, stream, record key), and
an index on those three found the rows to replace when the record arrived again. The record
key is the platform's order id or the like, so every row written into a large store landed
on a random page of that index. The row now keeps ``raw_record_id``: a new record's id is the
next one, so the index grows at its end. The connection stays on the row (precedence reads
it); the stream and key are the raw record's own columns.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The standard tables at this revision (every one carries lineage).
TABLES = (
    "ad_performance",
    "assignments",
    "fx_rates",
    "inventory_snapshots",
    "order_items",
    "orders",
    "refunds",
    "reviews",
    "service_tickets",
    "shipments",
    "shops",
    "sku_costs",
    "skus",
    "staff",
    "teams",
)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("raw_record_id", _ID, nullable=True, comment="lineage: the raw_records row it came from"),
        )
        # Table and column names are this module's constants.
        op.execute(
            f"UPDATE {table} SET raw_record_id = ("  # noqa: S608
            "SELECT raw_records.id FROM raw_records "
            f"WHERE raw_records.connection_id = {table}.connection_id "
            f"AND raw_records.stream = {table}.source_stream "
            f"AND raw_records.record_key = {table}.source_key"
            ") WHERE source_key IS NOT NULL"
        )
        op.drop_index(op.f(f"ix_{table}_connection_id_source_stream_source_key"), table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("source_key")
            batch.drop_column("source_stream")
        op.create_index(op.f(f"ix_{table}_raw_record_id"), table, ["raw_record_id"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(op.f(f"ix_{table}_raw_record_id"), table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "source_stream", sa.String(64), nullable=True, comment="lineage: the stream it came from"
                )
            )
            batch.add_column(
                sa.Column(
                    "source_key", sa.String(255), nullable=True, comment="lineage: the raw record it came from"
                )
            )
        for column, source in (("source_stream", "stream"), ("source_key", "record_key")):
            op.execute(
                f"UPDATE {table} SET {column} = ("  # noqa: S608
                f"SELECT raw_records.{source} FROM raw_records WHERE raw_records.id = {table}.raw_record_id"
                ") WHERE raw_record_id IS NOT NULL"
            )
        with op.batch_alter_table(table) as batch:
            batch.drop_column("raw_record_id")
        op.create_index(
            op.f(f"ix_{table}_connection_id_source_stream_source_key"),
            table,
            ["connection_id", "source_stream", "source_key"],
            unique=False,
        )
