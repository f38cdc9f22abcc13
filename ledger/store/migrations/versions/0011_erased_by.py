"""Erasure proofs: an index on `entries.erased_by` for the erased entries only, so the
list an erasure erased (what its statement's ``leaves_root`` commits to) is read by
the erasure's record without scanning the entries. A completeness document or pack
proves each erased entry it shows with that list (docs/completeness.md).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ERASED = sa.text("erased_by IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "entries_erased_by",
        "entries",
        ["erased_by", "seq"],
        sqlite_where=ERASED,
        postgresql_where=ERASED,
    )


def downgrade() -> None:
    op.drop_index("entries_erased_by", "entries")
