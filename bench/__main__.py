"""``python -m bench [name ...]``: run the named benchmarks (default: all)."""

from __future__ import annotations

import argparse
import platform
import sys
import time

from bench import crash, ingest, reports, site, startup, storage

BENCHMARKS = {
    "storage": storage.main,
    "ingest": ingest.main,
    "reports": reports.main,
    "startup": startup.main,
    "site": site.main,
    "crash": crash.main,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "names", nargs="*", help=f"要运行的基准：{'、'.join(BENCHMARKS)}（默认全部）"
    )
    parser.add_argument(
        "--quick", action="store_true", help="小规模快速运行（用于检查基准本身能跑）"
    )
    args = parser.parse_args(argv)
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')}  Python {platform.python_version()}  {platform.machine()}  "
        f"{platform.node()}  CPUs: {__import__('os').cpu_count()}"
    )
    for name in args.names or BENCHMARKS:
        BENCHMARKS[name](quick=args.quick)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
