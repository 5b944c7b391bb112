"""The Starlette application: `create_app(settings, store)` and the one route list."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import urllib.parse
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from forms_server import (
    ack_views,
    api,
    audit_views,
    config,
    records,
    report_views,
    views,
    workflow_views,
)
from forms_server.acknowledgements import ManualFile
from forms_server.auth import ROLES, AuthBackend, Throttle, principal
from forms_server.definitions import load_dir
from forms_server.errors import (
    HTTPError,
    handle_http_error,
    handle_server_error,
    handle_starlette_http,
    handle_storage_error,
    problem,
)
from forms_server.journal import StorageError
from forms_server.settings import Settings
from forms_server.store import Store
from qms_site import formpage

log = logging.getLogger("qms.server")
HERE = Path(__file__).resolve().parent
SETUP_FILE = "setup-code.txt"

# Pages rendered by the server carry no inline script or style, so they can have
# a strict policy. The manual (static, built by the site engine) keeps its own.
SERVER_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
)


async def healthz(request: Request) -> JSONResponse:
    store = request.app.state.store
    return JSONResponse(
        {
            "status": "ok",
            "records": store.count("submissions"),
            "forms": len(request.app.state.forms),
        }
    )


async def api_not_found(request: Request) -> JSONResponse:
    principal(request)  # anonymous clients learn nothing about which paths exist
    raise HTTPError(404, f"没有此接口：{request.url.path}")


class LoginRequired:
    """Everything except the login page requires authentication; the manual too."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not getattr(scope.get("user"), "is_authenticated", False):
            target = scope["path"] + (
                ("?" + scope["query_string"].decode("latin-1")) if scope["query_string"] else ""
            )
            response = RedirectResponse(
                "/login?next=" + urllib.parse.quote(target), status_code=303
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class Utf8Query:
    """A query string must be UTF-8 once %-decoded; Starlette would quietly turn the
    bytes into U+FFFD and search for that. A clear 400 instead (JSON under /api/)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            try:
                urllib.parse.unquote_to_bytes(scope["query_string"]).decode("utf-8")
            except UnicodeDecodeError:
                error = HTTPError(400, "网址中的查询参数不是有效的 UTF-8 文本")
                # Without the query: building request.url from raw bytes like \xff raises.
                request = Request({**scope, "query_string": b""})
                await problem(request, error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


MANUAL_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
SERVER_HEADERS = (
    *MANUAL_HEADERS,
    (b"content-security-policy", SERVER_CSP.encode()),
    (b"cache-control", b"no-store"),
)


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        manual = not scope["path"].startswith(
            (
                "/login",
                "/logout",
                "/setup",
                "/forms",
                "/submissions",
                "/attachments",
                "/account",
                "/admin",
                "/api",
                "/static-app",
                "/healthz",
                "/reports",
                "/complaints",
                "/notices",
                "/reinspections",
                "/acknowledgements",
                "/history",
            )
        )

        extra = MANUAL_HEADERS if manual else SERVER_HEADERS

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # A handler's own value (the photos' cache time) stands; no header is sent twice.
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def editions_mount(settings: Settings):
    """Every published edition at /editions/<edition>/ (latest at /editions/latest/)."""
    if (settings.editions_dir / "versions.json").is_file():
        return Mount(
            "/editions",
            LoginRequired(StaticFiles(directory=settings.editions_dir, html=True)),
            name="editions",
        )

    async def none_yet(request: Request):
        principal(request)
        raise HTTPError(
            404,
            "尚未发布手册版本。发布方法：make release EDITION=2026.1（见 README“发布手册版本”）",
        )

    return Route("/editions/{rest:path}", none_yet)


class AppState:
    """What handlers share, on ``app.state``."""


def create_app(settings: Settings, store: Store) -> Starlette:
    """Build the app around an open store; the app closes it on shutdown."""
    if not (settings.site_dir / "index.html").is_file():
        raise SystemExit(
            f"找不到已构建的手册：{settings.site_dir}/index.html。请先运行 make build。"
        )
    loaded = load_dir(settings.forms_dir, settings.forms_dir.parent.parent)
    if loaded.problems:
        lines = "\n".join(f"  - {p}" for p in loaded.problems)
        raise SystemExit(f"表格定义有误，服务不启动（共 {len(loaded.problems)} 个问题）：\n{lines}")
    company = config.load(settings.config_file)
    mismatches = records.configuration_problems(loaded.forms, company)
    if mismatches:
        lines = "\n".join(f"  - {p}" for p in mismatches)
        raise SystemExit(f"表格定义与公司配置不一致，服务不启动：\n{lines}")

    def base_context(request: Request) -> dict:
        """What every page's layout needs: company, current user, names of roles and projects."""
        user = request.scope.get("user")
        return {
            "company": company,
            "user": user if getattr(user, "is_authenticated", False) else None,
            "roles": ROLES,
            "project_names": company.project_names(),
            "teams": company.teams,
        }

    templates = Jinja2Templates(directory=HERE / "templates", context_processors=[base_context])
    templates.env.globals.update(
        asset_version=_asset_version(), method=formpage.method, method_points=formpage.points_text
    )

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        store.close()

    routes = [
        # The JSON API first, in a mount of its own: a client's request is matched against
        # its few routes, not against every page of the site before them.
        Mount(
            "/api",
            routes=[
                Route("/forms/{code}/submissions", api.create_submission, methods=["POST"]),
                Route("/openapi.json", api.openapi_document),
                Route("/me", api.me),
                Route("/forms", api.list_forms),
                Route("/forms/{code}", api.get_form),
                Route("/submissions", api.list_submissions),
                Route("/submissions/{number}", api.get_submission),
                Route("/attachments", api.upload_attachment, methods=["POST"]),
                Route("/history/{table}/{number}", audit_views.api_record_history),
                Route("/reports/{kind}", report_views.report_json),
                Route("/acknowledgements", ack_views.api_matrix, methods=["GET"]),
                Route("/acknowledgements", ack_views.api_acknowledge, methods=["POST"]),
                Route("/acknowledgements/mine", ack_views.api_mine),
                Route(
                    "/{rest:path}", api_not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
                ),
            ],
        ),
        Route("/healthz", healthz),
        Route("/login", views.login_page, methods=["GET"]),
        Route("/login", views.login, methods=["POST"]),
        Route("/logout", views.logout, methods=["POST"]),
        Route("/setup", views.setup_page, methods=["GET", "POST"]),
        Route("/forms/", views.forms_index),
        Route("/forms/{code}/new", views.form_page, methods=["GET", "POST"]),
        Route("/submissions/", views.submissions_page),
        Route("/submissions.csv", views.submissions_csv),
        Route("/submissions/{number}", views.submission_page),
        Route(
            "/submissions/{number}/reinspect",
            workflow_views.reinspect_page,
            methods=["GET", "POST"],
        ),
        Route("/attachments/{attachment_id}", views.attachment),
        Route("/complaints/", workflow_views.complaints_page),
        Route("/complaints/{number}", workflow_views.complaint_page, methods=["GET", "POST"]),
        Route("/notices/", workflow_views.notices_page),
        Route("/notices/{number}", workflow_views.notice_page),
        Route("/reinspections/{number}", workflow_views.reinspection_page),
        Route("/reports/", report_views.index),
        Route("/reports/{kind}", report_views.report_page),
        Route("/acknowledgements/", ack_views.matrix_page),
        Route("/acknowledgements/mine", ack_views.mine_page, methods=["GET", "POST"]),
        Route("/account/password", views.password_page, methods=["GET", "POST"]),
        Route("/admin/users", views.users_page, methods=["GET", "POST"]),
        Route("/admin/audit", audit_views.audit_page),
        Route("/admin/evidence", audit_views.evidence_zip),
        Route("/history/{table}/{number}", audit_views.record_history_page),
        editions_mount(settings),
        Mount("/static-app", StaticFiles(directory=HERE / "static"), name="app-static"),
        Mount(
            "/", LoginRequired(StaticFiles(directory=settings.site_dir, html=True)), name="manual"
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(AuthenticationMiddleware, backend=AuthBackend(store)),
            Middleware(Utf8Query),
        ],
        exception_handlers={
            HTTPError: handle_http_error,
            StarletteHTTPException: handle_starlette_http,
            StorageError: handle_storage_error,
            500: handle_server_error,
        },
        lifespan=lifespan,
    )
    state = app.state
    state.settings = settings
    state.store = store
    state.forms = loaded.forms
    state.company = company
    state.manual = ManualFile(settings.site_dir)
    state.templates = templates
    state.throttle = Throttle(settings.login_attempts, settings.login_lockout_minutes * 60)
    state.setup_file = settings.data_dir / SETUP_FILE
    state.setup_code = _setup_code(settings, store)

    def finish_setup() -> None:
        state.setup_code = None
        state.setup_file.unlink(missing_ok=True)

    state.finish_setup = finish_setup
    return app


def _setup_code(settings: Settings, store: Store) -> str | None:
    """On an empty data directory, a one-time code in a file only the operator can read."""
    path = settings.data_dir / SETUP_FILE
    if store.count("users"):
        path.unlink(missing_ok=True)
        return None
    if path.exists():
        code = path.read_text(encoding="utf-8").strip()
    else:
        code = secrets.token_urlsafe(12)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(code + "\n")
    log.warning(
        "首次启动：系统中还没有用户。请在浏览器打开 http://%s:%s/setup ，输入文件 %s 中的设置码，创建第一个管理员账号。",
        settings.host,
        settings.port,
        path,
    )
    return code


def _asset_version() -> str:
    """Changes when the app's CSS/JS change, so browsers fetch the new files."""
    stamp = max(p.stat().st_mtime_ns for p in (HERE / "static").iterdir())
    return format(stamp % 10**10, "x")
