"""Settings: flags, then LEDGER_* environment variables, then embedded defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.store.db import normalize_url, sqlite_url


class Settings(BaseSettings):
    """Where the log lives and how the service runs."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    data_dir: Path = Path("./ledger-data")
    database_url: str | None = None
    seal_interval: float = 1.0
    max_batch: int = 1 << 18

    def resolved_database_url(self) -> str:
        """The configured database URL, or the SQLite file under the data dir."""
        if self.database_url:
            return normalize_url(self.database_url)
        return sqlite_url(self.data_dir)
