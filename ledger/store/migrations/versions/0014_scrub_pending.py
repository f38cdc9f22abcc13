"""Owed scrubs: `scrub_pending` holds at most one row, written in an erasure's own
transaction and deleted once a scrub (SQLite's WAL checkpoint, PostgreSQL's VACUUM)
completes fully, so a process killed between an erasure's commit and its scrub leaves
a record that the next start, erasure or retention run finishes it (docs/privacy.md,
"What erased for good means on each database"). Downgrade drops the table.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scrub_pending",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False, comment="always 1"),
        sa.Column(
            "erased_by",
            sa.LargeBinary(32),
            nullable=False,
            comment="leaf hash of the record of the latest erasure whose scrub is owed",
        ),
        sa.Column(
            "since", sa.String(24), nullable=False, comment="time of the oldest such erasure"
        ),
        sa.Column(
            "vacuum_full",
            sa.Boolean,
            nullable=False,
            comment="PostgreSQL: one of them asked for VACUUM FULL",
        ),
        sa.CheckConstraint("id = 1", name="scrub_pending_one_row"),
        comment="a scrub owed by committed erasures (no row: none owed)",
    )


def downgrade() -> None:
    op.drop_table("scrub_pending")
