"""Model registrations: `model_versions` names, for each registered (model id, version),
the model record that registered it. From this revision on only POST /v1/models
registers a version (ledger.store.models); lineage reads registrations only.

The log cannot tell which route stored a model record before this revision, so the
upgrade registers what the lineage resolved until now: the first model record of each
(model id, version), in arrival order. It reads every entry once (there is no index on
kind), a one-time cost of seconds per ten million entries.

Revision ID: 0005
Revises: 0004
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    versions = op.create_table(
        "model_versions",
        sa.Column("model_id", sa.String(256), primary_key=True),
        sa.Column("version", sa.String(256), primary_key=True),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    )
    first: dict[tuple[str, str], bytes] = {}
    rows = op.get_bind().execute(
        sa.text("SELECT leaf_hash, record FROM entries WHERE kind = 'model' ORDER BY seq")
    )
    for leaf_hash, record in rows:
        body = json.loads(bytes(record))["body"]
        first.setdefault((body["model_id"], body["version"]), bytes(leaf_hash))
    if first:
        op.bulk_insert(
            versions,
            [
                {"model_id": model_id, "version": version, "leaf_hash": leaf}
                for (model_id, version), leaf in first.items()
            ],
        )


def downgrade() -> None:
    op.drop_table("model_versions")
