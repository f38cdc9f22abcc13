"""Checkpoint notes: each checkpoint also kept as a C2SP signed note
(c2sp.org/tlog-checkpoint), signed by the log's Ed25519 note key, which GET /checkpoint
serves. Checkpoints sealed before this revision have no note (NULL); the service signs
one when it first needs it (Ed25519 is deterministic, so it is the note it would have
stored).

Revision ID: 0008
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkpoints") as batch:
        batch.add_column(
            sa.Column(
                "note",
                sa.Text(),
                nullable=True,
                comment="the checkpoint as a C2SP signed note (null: not signed yet)",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("checkpoints") as batch:
        batch.drop_column("note")
