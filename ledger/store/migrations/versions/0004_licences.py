"""Licences: the LicenceRegistry address of the deployment, and the licence commitments
on their way to the chain (grant and revoke calls, pending -> submitted -> confirmed).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("deployment") as batch:
        batch.add_column(sa.Column("registry", sa.LargeBinary(20)))
    op.create_table(
        "licence_commitments",
        sa.Column("id", Seq, sa.Identity(), primary_key=True),
        sa.Column("licence_id", sa.String(256), nullable=False),
        sa.Column("licensee", sa.String(256), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("commitment", sa.LargeBinary(32), nullable=False),
        sa.Column("record_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("valid_from", sa.BigInteger),
        sa.Column("valid_until", sa.BigInteger),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tx_hash", sa.LargeBinary(32)),
        sa.Column("nonce", sa.BigInteger),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(1000)),
        sa.Column("created_at", sa.String(24), nullable=False),
        sa.Column("updated_at", sa.String(24), nullable=False),
    )
    op.create_index(
        "licence_commitments_call", "licence_commitments", ["commitment", "action"], unique=True
    )
    op.create_index("licence_commitments_licence", "licence_commitments", ["licence_id"])
    op.create_index("licence_commitments_status", "licence_commitments", ["status"])


def downgrade() -> None:
    op.drop_table("licence_commitments")
    with op.batch_alter_table("deployment") as batch:
        batch.drop_column("registry")
