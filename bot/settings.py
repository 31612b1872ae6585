"""Settings from the environment and an optional `.env`, validated once at start-up.

A bad value must stop the program with one line that names the setting and
says what to do, never a traceback: `load_settings` turns pydantic's errors
into a `SettingsError` whose message is that line.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rituals.zones import is_zone

DEFAULT_SLACK_API_URL = "https://slack.com/api/"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class SettingsError(Exception):
    """A setting is missing or invalid; str(self) is the one line to print."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        # `SLACK_APP_TOKEN=` in .env (as .env.example ships) means "not set", like a missing line.
        env_ignore_empty=True,
    )

    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=DEFAULT_SLACK_API_URL, alias="SLACK_API_URL")

    database_url: str = Field(default="sqlite:///tandem.db", alias="TANDEM_DATABASE_URL")
    host: str = Field(default="0.0.0.0", alias="TANDEM_HOST")
    port: int = Field(default=3000, ge=1, le=65535, alias="TANDEM_PORT")
    web_workers: int = Field(default=2, ge=1, le=64, alias="TANDEM_WEB_WORKERS")
    web_threads: int = Field(default=16, ge=1, le=256, alias="TANDEM_WEB_THREADS")
    # How long a web thread waits for a request body that has stopped arriving.
    read_timeout: float = Field(default=10.0, gt=0, le=120, alias="TANDEM_READ_TIMEOUT")
    # Socket Mode: a connection that misses four pings in a row is opened again.
    socket_ping_seconds: float = Field(
        default=10.0, ge=0.5, le=300, alias="TANDEM_SOCKET_PING_SECONDS"
    )
    admin_user_ids: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(), alias="TANDEM_ADMIN_USER_IDS"
    )
    default_timezone: str = Field(default="UTC", alias="TANDEM_DEFAULT_TIMEZONE")
    log_level: LogLevel = Field(default="INFO", alias="TANDEM_LOG_LEVEL")
    include_guests: bool = Field(default=False, alias="TANDEM_INCLUDE_GUESTS")
    sync_interval_minutes: int = Field(default=60, ge=1, alias="TANDEM_SYNC_INTERVAL_MINUTES")
    tick_seconds: float = Field(default=30.0, gt=0, alias="TANDEM_TICK_SECONDS")
    sender_threads: int = Field(default=2, ge=0, le=64, alias="TANDEM_SENDER_THREADS")
    workspace_rate_per_second: float = Field(
        default=5.0, gt=0, alias="TANDEM_WORKSPACE_RATE_PER_SECOND"
    )
    channel_posts_per_second: float = Field(
        default=1.0, gt=0, alias="TANDEM_CHANNEL_POSTS_PER_SECOND"
    )
    scheduler_enabled: bool = Field(default=True, alias="TANDEM_SCHEDULER_ENABLED")
    job_threads: int = Field(default=1, ge=0, le=64, alias="TANDEM_JOB_THREADS")
    retention_days: int = Field(default=30, ge=1, alias="TANDEM_RETENTION_DAYS")

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """An empty or blank secret, however it arrives, is the same as no secret."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_zone(value):
            raise ValueError(f"unknown IANA time zone {value!r}")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def require_slack_credentials(self) -> None:
        """The bot cannot start without these; say which one and how to get it."""
        if self.slack_bot_token is None:
            raise SettingsError(
                "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) from "
                "your app's OAuth & Permissions page into .env (see .env.example)."
            )
        if not self.slack_bot_token.get_secret_value().startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-.")
        if self.socket_mode:
            assert self.slack_app_token is not None
            if not self.slack_app_token.get_secret_value().startswith("xapp-"):
                raise SettingsError(
                    "SLACK_APP_TOKEN must be an app-level token starting with xapp- "
                    "(Basic Information > App-Level Tokens, scope connections:write); "
                    "leave it unset to receive requests over HTTP."
                )
        elif self.slack_signing_secret is None:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs the Signing Secret from "
                "your app's Basic Information page (or set SLACK_APP_TOKEN for Socket Mode)."
            )


_ALIASES = {name: field.alias or name for name, field in Settings.model_fields.items()}


def load_settings(**overrides: object) -> Settings:
    """Read settings; any invalid value becomes a SettingsError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        name = _ALIASES.get(field, field)
        raise SettingsError(
            f"{name} is invalid: {first['msg']}. Fix it in .env or the environment."
        ) from None
