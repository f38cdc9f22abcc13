"""One chain outbox: the anchors and the licence registry calls become rows of one table,
`chain_calls`, whose state machine (pending -> submitted -> confirmed, or failed) lives
in ledger.store.outbox. Every row moves over with its state, transaction and block as
they are: a call in flight stays in flight. `anchors` and `licence_commitments` remain
as read-only views of the same rows, in their former shape, for operators' queries.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The columns every call keeps, in both shapes.
STATE = "status, tx_hash, nonce, block_number, attempts, last_error, created_at, updated_at"
ANCHOR = "tree_size, root, prev_size, block_hash, block_timestamp, gas_used"
LICENCE = "licence_id, licensee, commitment, record_hash, valid_from, valid_until"

ANCHORS_VIEW = (
    f"CREATE VIEW anchors AS SELECT id, {ANCHOR}, {STATE} FROM chain_calls WHERE kind = 'anchor'"
)
LICENCES_VIEW = (
    f"CREATE VIEW licence_commitments AS SELECT id, kind AS action, {LICENCE}, {STATE}"
    " FROM chain_calls WHERE kind IN ('grant', 'revoke')"
)


def _state() -> list[sa.Column[object]]:
    return [
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tx_hash", sa.LargeBinary(32)),
        sa.Column("nonce", sa.BigInteger),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(1000)),
        sa.Column("created_at", sa.String(24), nullable=False),
        sa.Column("updated_at", sa.String(24), nullable=False),
    ]


def _anchor(nullable: bool) -> list[sa.Column[object]]:
    return [
        sa.Column("tree_size", sa.BigInteger, nullable=nullable),
        sa.Column("root", sa.LargeBinary(32), nullable=nullable),
        sa.Column("prev_size", sa.BigInteger),
        sa.Column("block_hash", sa.LargeBinary(32)),
        sa.Column("block_timestamp", sa.BigInteger),
        sa.Column("gas_used", sa.BigInteger),
    ]


def _licence(nullable: bool) -> list[sa.Column[object]]:
    return [
        sa.Column("licence_id", sa.String(256), nullable=nullable),
        sa.Column("licensee", sa.String(256), nullable=nullable),
        sa.Column("commitment", sa.LargeBinary(32), nullable=nullable),
        sa.Column("record_hash", sa.LargeBinary(32), nullable=nullable),
        sa.Column("valid_from", sa.BigInteger),
        sa.Column("valid_until", sa.BigInteger),
    ]


def _id() -> sa.Column[object]:
    return sa.Column("id", Seq, sa.Identity(), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "chain_calls",
        _id(),
        sa.Column("kind", sa.String(8), nullable=False),
        *_state(),
        *_anchor(nullable=True),
        *_licence(nullable=True),
    )
    op.create_index("chain_calls_tree_size", "chain_calls", ["tree_size"], unique=True)
    op.create_index("chain_calls_commitment", "chain_calls", ["commitment", "kind"], unique=True)
    op.create_index("chain_calls_licence", "chain_calls", ["licence_id"])
    op.create_index("chain_calls_status", "chain_calls", ["kind", "status"])
    # Anchors first, then licence calls, each in its own id order (the order the
    # issuer sends them in); the new table numbers them afresh.
    op.execute(
        f"INSERT INTO chain_calls (kind, {ANCHOR}, {STATE})"
        f" SELECT 'anchor', {ANCHOR}, {STATE} FROM anchors ORDER BY id"
    )
    op.execute(
        f"INSERT INTO chain_calls (kind, {LICENCE}, {STATE})"
        f" SELECT action, {LICENCE}, {STATE} FROM licence_commitments ORDER BY id"
    )
    op.drop_table("anchors")
    op.drop_table("licence_commitments")
    op.execute(ANCHORS_VIEW)
    op.execute(LICENCES_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW anchors")
    op.execute("DROP VIEW licence_commitments")
    op.create_table("anchors", _id(), *_anchor(nullable=False), *_state())
    op.create_index("anchors_tree_size", "anchors", ["tree_size"], unique=True)
    op.create_index("anchors_status", "anchors", ["status"])
    op.create_table(
        "licence_commitments",
        _id(),
        sa.Column("action", sa.String(8), nullable=False),
        *_licence(nullable=False),
        *_state(),
    )
    op.create_index(
        "licence_commitments_call", "licence_commitments", ["commitment", "action"], unique=True
    )
    op.create_index("licence_commitments_licence", "licence_commitments", ["licence_id"])
    op.create_index("licence_commitments_status", "licence_commitments", ["status"])
    # The former licence_commitments keeps no block hash: that of a confirmed call is lost.
    op.execute(
        f"INSERT INTO anchors ({ANCHOR}, {STATE})"
        f" SELECT {ANCHOR}, {STATE} FROM chain_calls WHERE kind = 'anchor' ORDER BY id"
    )
    op.execute(
        f"INSERT INTO licence_commitments (action, {LICENCE}, {STATE})"
        f" SELECT kind, {LICENCE}, {STATE} FROM chain_calls"
        " WHERE kind IN ('grant', 'revoke') ORDER BY id"
    )
    op.drop_table("chain_calls")
