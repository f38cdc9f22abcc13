"""Storage: SQLAlchemy Core tables (`schema`), Alembic migrations, and the repositories
that hold all SQL (`repository` for the log itself, `anchors`, `licences`, `keys`,
`models`, `exports`, `queries`). SQLite (the embedded default) and PostgreSQL alike."""
