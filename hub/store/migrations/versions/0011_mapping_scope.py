"""mapping_versions: the scope of the key that saved an override

An override saved by a key limited to some shops may map rows only to those shops; the scope
travels with the version so every sync and remap enforces it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mapping_versions") as batch:
        batch.add_column(
            sa.Column(
                "scope",
                sa.JSON(),
                nullable=True,
                comment="the shops its author's key was limited to; every row it maps must be of them",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("mapping_versions") as batch:
        batch.drop_column("scope")
