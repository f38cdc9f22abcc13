"""model-ledger: a verifiable, blockchain-anchored audit trail for AI model access.

Frozen modules (their output is part of every proof already issued; change them only
with a new record or bundle version): `ledger.core.merkle`, `ledger.core.records` and
`ledger.core.commitment` (the v2 record's per-field commitments).
"""

__version__ = "0.1.0"
