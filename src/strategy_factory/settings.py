"""Where the factory keeps its files and database, read once from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; every field can be set with a ``FACTORY_`` variable."""

    model_config = SettingsConfigDict(env_prefix="FACTORY_", extra="ignore")

    home: Path = Field(
        default=Path(".factory"),
        description="Folder for the bar cache and model artifacts (FACTORY_HOME).",
    )
    db: str = Field(
        default="sqlite:///factory.db",
        description="SQLAlchemy URL of the store (FACTORY_DB); a SQLite file by default.",
    )
    api_token: str | None = Field(
        default=None,
        description="Token required by mutating API endpoints off loopback (FACTORY_API_TOKEN).",
    )

    @property
    def bars_dir(self) -> Path:
        return self.home / "bars"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


def get_settings() -> Settings:
    """Read the settings from the environment now (tests change it between calls)."""
    return Settings()
