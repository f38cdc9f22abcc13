"""Anchoring: the deployment this database anchors to, and the anchors on their way.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deployment",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("contract", sa.LargeBinary(20), nullable=False),
        sa.Column("log_id", sa.LargeBinary(32), nullable=False),
        sa.Column("log_name", sa.String(256), nullable=False),
        sa.Column("deployer", sa.LargeBinary(20), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(24), nullable=False),
    )
    op.create_table(
        "anchors",
        sa.Column("id", Seq, sa.Identity(), primary_key=True),
        sa.Column("tree_size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("prev_size", sa.BigInteger),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tx_hash", sa.LargeBinary(32)),
        sa.Column("nonce", sa.BigInteger),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("block_hash", sa.LargeBinary(32)),
        sa.Column("block_timestamp", sa.BigInteger),
        sa.Column("gas_used", sa.BigInteger),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(1000)),
        sa.Column("created_at", sa.String(24), nullable=False),
        sa.Column("updated_at", sa.String(24), nullable=False),
    )
    op.create_index("anchors_tree_size", "anchors", ["tree_size"], unique=True)
    op.create_index("anchors_status", "anchors", ["status"])


def downgrade() -> None:
    op.drop_table("anchors")
    op.drop_table("deployment")
