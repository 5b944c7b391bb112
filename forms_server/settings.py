"""Settings, read once from the environment (documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = PROJECT_DIR / "data" / "db"
    site_dir: Path = PROJECT_DIR / "site"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        port = env.get("PORT", "8000")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise SystemExit(f"PORT 应为 1–65535 之间的端口号,实际为 {port!r}")
        return cls(
            host=env.get("HOST", "127.0.0.1"),
            port=int(port),
            data_dir=Path(env.get("QMS_DATA_DIR", str(PROJECT_DIR / "data" / "db"))),
            site_dir=Path(env.get("QMS_SITE_DIR", str(PROJECT_DIR / "site"))),
        )
