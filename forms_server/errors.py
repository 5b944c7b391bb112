"""Exceptions carry their status; one place renders them (HTML for people, JSON for clients).

JSON error shape (documented in the OpenAPI document as ``Problem``)::

    {"status": 422, "title": "提交内容有误", "detail": "…",
     "errors": [{"path": "fields.phone", "message": "联系电话:号码格式不正确…"}]}
"""

from __future__ import annotations

import urllib.parse

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

TITLES = {
    400: "请求有误",
    401: "请先登录",
    403: "没有权限",
    404: "找不到页面",
    405: "不支持的请求方法",
    409: "与现有数据冲突",
    413: "内容过大",
    415: "不支持的内容类型",
    422: "提交内容有误",
    429: "尝试次数过多",
    500: "服务器内部错误",
    503: "暂时无法保存",
}
#: Follows the storage error (disk full, read-only) wherever a submission was refused.
NOT_SAVED = "本次提交未保存，请稍后重试或联系管理员。"


class HTTPError(Exception):
    def __init__(
        self, status: int, detail: str = "", errors: dict[str, str] | None = None, headers=None
    ):
        super().__init__(detail or TITLES.get(status, ""))
        self.status = status
        self.detail = detail or TITLES.get(status, "")
        self.errors = errors or {}
        self.headers = headers or {}

    def to_json(self) -> dict:
        body = {
            "status": self.status,
            "title": TITLES.get(self.status, "错误"),
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [
                {"path": path, "message": message} for path, message in self.errors.items()
            ]
        return body


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def problem(request: Request, error: HTTPError) -> Response:
    if wants_json(request):
        headers = dict(error.headers)
        if error.status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="qms"')
        return JSONResponse(error.to_json(), status_code=error.status, headers=headers)
    if error.status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?next=" + urllib.parse.quote(target), status_code=303)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": error.status,
            "title": TITLES.get(error.status, "错误"),
            "detail": error.detail,
            "errors": error.errors,
        },
        status_code=error.status,
        headers=error.headers,
    )


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return problem(request, exc)


async def handle_starlette_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return problem(
        request,
        HTTPError(
            exc.status_code, TITLES.get(exc.status_code, str(exc.detail)), headers=exc.headers
        ),
    )


async def handle_storage_error(request: Request, exc: Exception) -> Response:
    """The data directory refused a write (disk full, read-only): the record was not stored."""
    return problem(request, HTTPError(503, f"{exc}。{NOT_SAVED}",
                                      headers={"Retry-After": "60"}))  # fmt: skip


async def handle_server_error(request: Request, exc: Exception) -> Response:
    return problem(request, HTTPError(500, "服务器内部错误，已记录。请稍后再试或联系管理员。"))
