"""Alembic migrations of the store (run programmatically by ``sync.store.open_store``)."""
