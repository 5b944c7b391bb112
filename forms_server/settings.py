"""Settings, read once from the environment (each one is documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = PROJECT_DIR / "data" / "db"
    site_dir: Path = PROJECT_DIR / "site"
    #: Published editions of the manual, extracted from the editions branch (`make editions`).
    editions_dir: Path = PROJECT_DIR / "editions"
    forms_dir: Path = PROJECT_DIR / "data" / "forms"
    config_file: Path = PROJECT_DIR / "data" / "qms.yml"
    timezone: str = "Asia/Shanghai"
    #: Mark cookies Secure: set when users reach the server through HTTPS.
    secure_cookies: bool = False
    session_hours: int = 12
    max_upload_mb: int = 5
    #: Failed logins per account (and per address) before a pause.
    login_attempts: int = 5
    login_lockout_minutes: int = 15

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def number(name: str, default: int, low: int, high: int) -> int:
            raw = env.get(name, str(default)).strip()
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise SystemExit(f"{name} 应为 {low}–{high} 之间的整数，实际为 {raw!r}")
            return int(raw)

        def flag(name: str) -> bool:
            raw = env.get(name, "0").strip().lower()
            if raw not in ("0", "1", "true", "false", "yes", "no"):
                raise SystemExit(f"{name} 应为 1 或 0，实际为 {raw!r}")
            return raw in ("1", "true", "yes")

        def path(name: str, default: Path) -> Path:
            return Path(env.get(name, str(default)))

        timezone = env.get("QMS_TZ", "Asia/Shanghai")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SystemExit(
                f"QMS_TZ 不是有效的时区名称：{timezone!r}（例如 Asia/Shanghai）"
            ) from None
        port = env.get("PORT", "8000")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise SystemExit(f"PORT 应为 1–65535 之间的端口号，实际为 {port!r}")
        return cls(
            host=env.get("HOST", "127.0.0.1"),
            port=int(port),
            data_dir=path("QMS_DATA_DIR", PROJECT_DIR / "data" / "db"),
            site_dir=path("QMS_SITE_DIR", PROJECT_DIR / "site"),
            editions_dir=path("QMS_EDITIONS_DIR", PROJECT_DIR / "editions"),
            forms_dir=path("QMS_FORMS_DIR", PROJECT_DIR / "data" / "forms"),
            config_file=path("QMS_CONFIG", PROJECT_DIR / "data" / "qms.yml"),
            timezone=timezone,
            secure_cookies=flag("QMS_SECURE_COOKIES"),
            session_hours=number("QMS_SESSION_HOURS", 12, 1, 720),
            max_upload_mb=number("QMS_MAX_UPLOAD_MB", 5, 1, 50),
            login_attempts=number("QMS_LOGIN_ATTEMPTS", 5, 1, 100),
            login_lockout_minutes=number("QMS_LOGIN_LOCKOUT_MINUTES", 15, 1, 1440),
        )
