"""ConsoleSettings: the common connection settings plus CONSOLE_* (read once, in the CLI)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr

from streams_worker.core.errors import ConfigurationError
from streams_worker.core.settings import CommonSettings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ConsoleSettings(CommonSettings):
    """`streams-worker console`: where it listens, its token, whether actions are on."""

    console_host: str = Field("127.0.0.1", validation_alias=AliasChoices("CONSOLE_HOST"))
    console_port: int = Field(8080, ge=0, le=65535, validation_alias=AliasChoices("CONSOLE_PORT"))
    console_token: SecretStr | None = Field(None, validation_alias=AliasChoices("CONSOLE_TOKEN"))
    console_token_file: Path | None = Field(
        None, validation_alias=AliasChoices("CONSOLE_TOKEN_FILE")
    )
    console_actions: bool = Field(False, validation_alias=AliasChoices("CONSOLE_ACTIONS"))
    console_sample_interval_s: float = Field(
        5.0, gt=0, le=3600, validation_alias=AliasChoices("CONSOLE_SAMPLE_INTERVAL_S")
    )
    console_page_size: int = Field(
        50, ge=1, le=1000, validation_alias=AliasChoices("CONSOLE_PAGE_SIZE")
    )

    def check_files(self) -> None:
        super().check_files()
        path = self.console_token_file
        if path is not None and not (path.is_file() and os.access(path, os.R_OK)):
            raise ConfigurationError("CONSOLE_TOKEN_FILE", f"is not a readable file (got {path})")
        self.token()  # a token too short to be one stops the start, naming the variable

    def token(self) -> str | None:
        """The token from CONSOLE_TOKEN_FILE (a mounted secret) or CONSOLE_TOKEN."""
        if self.console_token_file is not None:
            value = self.console_token_file.read_text().strip()
            if len(value) < 16:
                raise ConfigurationError("CONSOLE_TOKEN_FILE", "holds fewer than 16 characters")
            return value
        if self.console_token is None:
            return None
        value = self.console_token.get_secret_value()
        if len(value) < 16:
            raise ConfigurationError("CONSOLE_TOKEN", "must be at least 16 characters")
        return value

    def check_bind(self) -> None:
        """Without a token the console listens on loopback only."""
        if self.token() is None and not is_loopback(self.console_host):
            raise ConfigurationError(
                "CONSOLE_HOST",
                f"{self.console_host} is not loopback and no CONSOLE_TOKEN is set"
                " (set a token, or listen on 127.0.0.1)",
            )
