"""The verifiable index (docs/completeness.md): its map nodes, versioned by the log size
they were written at so that proofs at any sealed (hence any anchored) size can be
built; each key's postings frontier; and the index root R(S) of every checkpoint sealed
with the index.

`index_nodes.position` is the map position 2**depth + prefix as big-endian bytes; `node`
is a 32-byte interior hash or a 72-byte leaf (k || u64be(count) || postings root). The
node at position p for log size S is the row of p with the largest tree_size <= S.

Existing logs get their index built by the first seal after this revision
(ledger.service.index.catch_up), in that seal's transaction: nothing is read here.
The `model` column gets the lookup index the `model:` key's postings need.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_nodes",
        sa.Column("position", sa.LargeBinary(33), primary_key=True),
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("node", sa.LargeBinary(72), nullable=False),
    )
    op.create_table(
        "index_keys",
        sa.Column("key_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("frontier", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "index_roots",
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("map_root", sa.LargeBinary(32), nullable=False),
        sa.Column("index_root", sa.LargeBinary(32), nullable=False),
    )
    op.create_index("entries_model", "entries", ["model"])


def downgrade() -> None:
    op.drop_index("entries_model", "entries")
    op.drop_table("index_roots")
    op.drop_table("index_keys")
    op.drop_table("index_nodes")
