"""Stored postings blocks: `index_blocks` keeps the root of each complete aligned block of
256 postings of each key's postings tree, with the leaf index of its last posting, so
that a windowed completeness proof reads only the blocks it needs after a restart
(docs/completeness.md, "Windowed proofs of large keys"). The seal inserts the blocks it
completes; this migration fills those of the keys indexed before it (every key of 256
postings or more: its postings read and hashed once, as the first windowed proof of it
did in each process before). Downgrade drops the table.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_blocks",
        sa.Column("key_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("block", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column(
            "last_leaf", sa.BigInteger, nullable=False, comment="leaf index of its last posting"
        ),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        comment="roots of the complete blocks of 256 postings of each key's postings tree",
        sqlite_with_rowid=False,
    )
    from ledger.store.index import backfill_blocks

    backfill_blocks(op.get_bind())


def downgrade() -> None:
    op.drop_table("index_blocks")
