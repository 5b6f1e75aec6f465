"""Where the factory keeps its files and database, read once from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; every field can be set with a ``FACTORY_`` variable."""

    model_config = SettingsConfigDict(env_prefix="FACTORY_", extra="ignore")

    home: Path = Field(
        default=Path(".factory"),
        description="Folder for the bar cache and model artifacts (FACTORY_HOME).",
    )
    results: Path = Field(
        default=Path("results"),
        description=(
            "Folder of workflow workspaces, one per workflow, and of the server's chart "
            "validations (FACTORY_RESULTS)."
        ),
    )
    db: str = Field(
        default="sqlite:///factory.db",
        description="SQLAlchemy URL of the store (FACTORY_DB); a SQLite file by default.",
    )
    dask_scheduler: str | None = Field(
        default=None,
        description=(
            "Address of the Dask scheduler that `--executor dask` runs on "
            "(FACTORY_DASK_SCHEDULER, e.g. 'tcp://10.0.0.5:8786')."
        ),
    )
    chromium: Path = Field(
        default=Path("/usr/bin/chromium"),
        description=(
            "Chromium that `factory report --validate` and the server's chart validations "
            "draw charts in (FACTORY_CHROMIUM)."
        ),
    )
    api_token: str | None = Field(
        default=None,
        description="Token required by mutating API endpoints off loopback (FACTORY_API_TOKEN).",
    )
    allowed_estimators: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Import paths of custom scikit-learn regressors that runs may name as their "
            "algorithm, comma separated (FACTORY_ALLOWED_ESTIMATORS, e.g. "
            "'sklearn.svm:SVR,sklearn.linear_model:HuberRegressor'). Nothing else is imported."
        ),
    )

    trusted_types: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Extra types that a stored custom estimator may hold (skops type names such as "
            "'sklearn.neighbors._kd_tree.KDTree'), comma separated (FACTORY_TRUSTED_TYPES). "
            "Model artifacts holding any other type are refused."
        ),
    )

    max_fit_values: float = Field(
        1e12,
        gt=0,
        description=(
            "Work budget of a run's training: model fits × training rows × features, summed "
            "over generations (FACTORY_MAX_FIT_VALUES). A run over it is refused."
        ),
    )
    max_strategy_cells: float = Field(
        1e6,
        gt=0,
        description=(
            "Work budget of a run's strategy grids: cells summed over tickers and generations "
            "(FACTORY_MAX_STRATEGY_CELLS); each cell's metrics are stored. Over it is refused."
        ),
    )
    max_cell_bars: float = Field(
        1e11,
        gt=0,
        description=(
            "Work budget of a run's simulation: strategy cells × selection bars, summed over "
            "tickers and generations; and of a workflow's discoveries: trials × cells per "
            "trial × selection bars (FACTORY_MAX_CELL_BARS). A run or workflow over it is "
            "refused."
        ),
    )

    @field_validator("allowed_estimators", "trusted_types", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def bars_dir(self) -> Path:
        return self.home / "bars"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


def get_settings() -> Settings:
    """Read the settings from the environment now (tests change it between calls)."""
    return Settings()
