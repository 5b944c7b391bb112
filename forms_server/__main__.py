"""Command line: ``python -m forms_server <command>``.

    serve                                   start the server (HOST, PORT, QMS_DATA_DIR)
    user add NAME --role R [--project P] [--name 姓名]     password read from stdin
    user set NAME [--role R] [--project P] [--active yes|no] [--password]
    user list
    token create NAME [--name 用途]          prints the token once
    token list | token revoke TOKEN_ID
    compact                                  fold the journal into qms.json (plain TinyDB)
    verify                                   check the history's hash chain (exit 1 if broken)
    evidence --from DATE --to DATE --out F   the auditor's evidence zip for a period

Commands that change data open the data directory themselves, so they run while
the server is stopped (one process owns a data directory); while it runs, use the
web page 用户管理 instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import logging
import sys

from forms_server.auth import ROLES, hash_password, password_problem
from forms_server.journal import StorageError
from forms_server.settings import Settings
from forms_server.store import Conflict, Store


def open_store(settings: Settings) -> Store:
    try:
        return Store(settings.data_dir, lambda: dt.datetime.now(settings.tz)).open()
    except StorageError as exc:
        raise SystemExit(
            f"{exc}\n如服务正在运行，请停止服务后再执行此命令，或在网页中操作（用户管理；审核 → 校验变更历史、导出审核证据）。"
        ) from exc


def read_password(prompt: str = "密码： ") -> str:
    """From the terminal (asked twice) or, when piped, the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if first != getpass.getpass("再次输入： "):
            raise SystemExit("两次输入的密码不一致")
        password = first
    else:
        password = sys.stdin.readline().rstrip("\n")
    problem = password_problem(password)
    if problem:
        raise SystemExit(f"密码不符合要求：{problem}")
    return password


def check_role(
    settings: Settings, role: str | None, project: str | None, team: str | None = None
) -> None:
    from forms_server import config

    if role is not None and role not in ROLES:
        raise SystemExit(f"角色应为 {', '.join(ROLES)} 之一")
    company = config.load(settings.config_file)
    if role == "staff" and project not in company.projects:
        raise SystemExit(f"员工必须指定管理处 --project，可选：{', '.join(company.projects)}")
    if team and team not in company.teams:
        raise SystemExit(f"班组 {team} 不存在，可选：{', '.join(company.teams)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m forms_server", description="质量管理体系表单服务"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="启动服务")
    commands.add_parser("compact", help="把日志合并进快照 qms.json（可用普通 TinyDB 读取）")
    demo = commands.add_parser("demo", help="在空数据目录中生成演示数据（账号密码 Demo-2026x）")
    demo.add_argument(
        "--months",
        type=int,
        default=3,
        choices=range(1, 13),
        metavar="1-12",
        help="生成最近几个月（默认 3）",
    )
    demo.add_argument("--force", action="store_true", help="数据目录中已有记录时仍然生成")

    commands.add_parser("verify", help="校验变更历史的哈希链（发现问题时退出码为 1）")
    proof = commands.add_parser("evidence", help="导出一个期间的审核证据 zip")
    proof.add_argument("--from", dest="date_from", required=True, help="起始日期，如 2026-10-01")
    proof.add_argument("--to", dest="date_to", required=True, help="结束日期，如 2026-12-31")
    proof.add_argument("--out", required=True, help="输出文件，如 审核证据.zip")

    user = commands.add_parser("user", help="用户管理").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="新建用户（密码从标准输入读取）")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=list(ROLES))
    add.add_argument("--project", help="员工所属管理处代码，如 CH")
    add.add_argument("--name", dest="display_name", default="", help="姓名")
    add.add_argument("--team", help="员工所属班组，如 客户服务中心")
    change = user.add_parser("set", help="修改用户")
    change.add_argument("username")
    change.add_argument("--role", choices=list(ROLES))
    change.add_argument("--project")
    change.add_argument("--team")
    change.add_argument("--active", choices=["yes", "no"])
    change.add_argument("--password", action="store_true", help="重置密码（从标准输入读取）")
    user.add_parser("list", help="列出用户")

    token = commands.add_parser("token", help="API 令牌").add_subparsers(
        dest="action", required=True
    )
    create = token.add_parser("create", help="为用户创建令牌（只显示一次）")
    create.add_argument("username")
    create.add_argument("--name", default="API", help="用途")
    token.add_parser("list", help="列出令牌")
    revoke = token.add_parser("revoke", help="吊销令牌")
    revoke.add_argument("token_id")

    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")

    if args.command == "serve":
        serve(settings)
        return
    if args.command == "demo":
        make_demo(settings, args.months, args.force)
        return
    store = open_store(settings)
    try:
        run(args, settings, store)
    except Conflict as exc:
        raise SystemExit(str(exc)) from exc
    finally:
        store.close()


def run(args, settings: Settings, store: Store) -> None:
    if args.command == "compact":
        store.compact()
        print(f"已合并：{settings.data_dir / 'qms.json'}")
    elif args.command == "verify":
        result = store.verify()
        print(verdict_text(store, result))
        if not result["ok"]:
            raise SystemExit(1)
    elif args.command == "evidence":
        write_evidence(args, settings, store)
    elif args.command == "user" and args.action == "add":
        check_role(settings, args.role, args.project, args.team)
        password = read_password()
        store.add_user(
            {
                "username": args.username,
                "display_name": args.display_name or args.username,
                "role": args.role,
                "project": args.project if args.role == "staff" else None,
                "team": args.team if args.role == "staff" else None,
                "active": True,
                "password_hash": hash_password(password),
            },
            by="cli",
        )
        print(f"已创建用户 {args.username}（{ROLES[args.role]}）")
    elif args.command == "user" and args.action == "set":
        current = store.get_user(args.username)
        if current is None:
            raise SystemExit(f"用户 {args.username} 不存在")
        role = args.role or current["role"]
        project = args.project if args.project is not None else current.get("project")
        team = args.team if args.team is not None else current.get("team")
        check_role(settings, role, project, team)
        changes: dict = {
            "role": role,
            "project": project if role == "staff" else None,
            "team": (team or None) if role == "staff" else None,
        }
        if args.active:
            changes["active"] = args.active == "yes"
        if args.password:
            changes["password_hash"] = hash_password(read_password("新密码： "))
        store.update_user(args.username, changes, by="cli")
        if args.password or args.active == "no":
            store.delete_sessions_of(args.username)
        print(f"已更新用户 {args.username}")
    elif args.command == "user" and args.action == "list":
        for u in store.list_users():
            state = "启用" if u.get("active", True) else "停用"
            print(
                f"{u['username']}\t{u.get('display_name', '')}\t{u['role']}\t{u.get('project') or '-'}\t{state}"
            )
    elif args.command == "token" and args.action == "create":
        if store.get_user(args.username) is None:
            raise SystemExit(f"用户 {args.username} 不存在")
        token, doc = store.create_token(args.username, args.name, by="cli")
        print(f"令牌 {doc['token_id']} 已创建；请立即保存，它不会再次显示：")
        print(token)
    elif args.command == "token" and args.action == "list":
        for t in store.list_tokens():
            print(
                f"{t['token_id']}\t{t['username']}\t{t['name']}\t{t['created_at']}\t{'已吊销' if t['revoked'] else '有效'}"
            )
    elif args.command == "token" and args.action == "revoke":
        store.revoke_token(args.token_id, by="cli")
        print(f"令牌 {args.token_id} 已吊销")


def verdict_text(store: Store, result: dict) -> str:
    from forms_server import audit

    return str(audit.verdict(result, store))


def write_evidence(args, settings: Settings, store: Store) -> None:
    import types
    from pathlib import Path

    from forms_server import config, evidence
    from forms_server.acknowledgements import ManualFile
    from forms_server.definitions import load_dir

    errors = evidence.period_problems(args.date_from, args.date_to)
    if errors:
        raise SystemExit("；".join(f"--{k}：{v}" for k, v in errors.items()))
    loaded = load_dir(settings.forms_dir, settings.forms_dir.parent.parent)
    state = types.SimpleNamespace(store=store, forms=loaded.forms, company=config.load(settings.config_file),
                                  manual=ManualFile(settings.site_dir))  # fmt: skip
    result = store.verify()
    content = evidence.build(state, args.date_from, args.date_to, "命令行导出", result)
    out = Path(args.out)
    try:
        out.write_bytes(content)
    except OSError as exc:
        raise SystemExit(f"无法写入 {out}：{exc.strerror}") from exc
    print(f"已导出：{out}（{len(content) // 1024} KB）")
    print(verdict_text(store, result))


def make_demo(settings: Settings, months: int, force: bool) -> None:
    import types

    from forms_server import config, demo
    from forms_server.definitions import load_dir

    loaded = load_dir(settings.forms_dir, settings.forms_dir.parent.parent)
    if loaded.problems:
        raise SystemExit("表格定义有误，请先运行 make build 查看问题")
    try:
        store = Store(settings.data_dir, demo.Clock(dt.datetime.now(settings.tz))).open()
    except StorageError as exc:
        raise SystemExit(f"{exc}\n请停止服务后再生成演示数据。") from exc
    try:
        if store.count("submissions") and not force:
            raise SystemExit(
                f"数据目录 {settings.data_dir} 中已有记录；演示数据只应生成在空目录中（确需追加请加 --force）"
            )
        state = types.SimpleNamespace(
            store=store, forms=loaded.forms, company=config.load(settings.config_file)
        )
        counts = demo.run(state, months)
    finally:
        store.close()
    print(
        f"已生成演示数据：{counts['submissions']} 条记录，{counts['complaints']} 件投诉，"
        f"{counts['notices']} 份整改通知书，{counts['reinspections']} 次复查，{counts['users']} 个账号（密码 {demo.PASSWORD}）"
    )


def serve(settings: Settings) -> None:
    import uvicorn

    from forms_server.app import create_app

    store = open_store(settings)
    try:
        app = create_app(settings, store)
    except BaseException:
        store.close()
        raise
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
