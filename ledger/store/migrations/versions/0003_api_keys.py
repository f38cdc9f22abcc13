"""API keys (stored as SHA-256 hashes); the account index also orders by time.

The account index becomes (account_id, ts): the same cost on ingest, and it serves the
campaign searches (accounts over a time range). There is deliberately no index on ts
alone: a fourth index costs ingest about a quarter of its rate.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("licensee", sa.String(256)),
        sa.Column("key_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.String(24), nullable=False),
        sa.Column("revoked_at", sa.String(24)),
    )
    op.create_index("api_keys_key_hash", "api_keys", ["key_hash"], unique=True)
    op.drop_index("entries_account_id", "entries")
    op.create_index("entries_account_ts", "entries", ["account_id", "ts"])


def downgrade() -> None:
    op.drop_index("entries_account_ts", "entries")
    op.create_index("entries_account_id", "entries", ["account_id"])
    op.drop_table("api_keys")
