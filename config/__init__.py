"""Typed settings for the territory agent (environment + optional ``.env``)."""

from territory.config.settings import DEFAULT_DB_URL, Settings, SettingsError, load_settings

__all__ = ["DEFAULT_DB_URL", "Settings", "SettingsError", "load_settings"]
