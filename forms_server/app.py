"""The Starlette application: `create_app(settings)` and the one route list."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from forms_server.settings import Settings


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings) -> Starlette:
    if not (settings.site_dir / "index.html").is_file():
        raise SystemExit(
            f"找不到已构建的手册:{settings.site_dir}/index.html。请先运行 make build。"
        )
    routes = [
        Route("/healthz", healthz),
        Mount("/", StaticFiles(directory=settings.site_dir, html=True), name="manual"),
    ]
    app = Starlette(routes=routes)
    app.state.settings = settings
    return app
