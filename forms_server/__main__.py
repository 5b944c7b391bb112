"""Command line: `python -m forms_server serve`."""

from __future__ import annotations

import argparse

import uvicorn

from forms_server.app import create_app
from forms_server.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m forms_server", description="质量管理体系表单服务"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="启动服务(HOST、PORT、QMS_DATA_DIR 环境变量)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        settings = Settings.from_env()
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
