"""The HTTP API (FastAPI): `ledger.api.main.create_app` builds it."""
