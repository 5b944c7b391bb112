"""Bad input through HTTP: oversized, malformed, mistyped and hostile requests.

Each gets a 4xx with a Chinese message (a JSON Problem under /api/, an HTML page
otherwise) and changes nothing: the store's counts and every file under the test's
directory (data, attachments, site, forms) are the same afterwards.

Requests go to the ASGI app directly, as a server hands them over: httpx (under
TestClient) would resolve "/a/../b" and always send an honest Content-Length.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import urllib.parse
from pathlib import Path

import anyio
import pytest
from starlette.testclient import TestClient

from forms_server.errors import TITLES
from forms_server.openapi import PATHS
from tests.conftest import app_with, csrf_of, login
from tests.forms_kit import perfect_items
from tests.test_workflows import INTAKE

MB = 1024 * 1024
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
SECRET = "机密-TOP-SECRET-7f3a"


# Raw requests ------------------------------------------------------------------


@dataclasses.dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> object:
        return json.loads(self.body)


def send(app, method: str, raw_path: str, headers=(), chunks=(b"",), query: bytes = b"") -> Raw:
    """One request as uvicorn would pass it on: the path %-decoded but not resolved,
    the headers and body exactly as sent (``chunks`` arrive one message each)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": urllib.parse.unquote(raw_path), "raw_path": raw_path.encode(),
        "root_path": "", "query_string": query, "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
    }  # fmt: skip
    pending = list(chunks)
    start: dict = {}
    body = bytearray()

    async def receive():
        if not pending:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": pending.pop(0), "more_body": bool(pending)}

    async def reply(message):
        if message["type"] == "http.response.start":
            start.update(message)
        else:
            body.extend(message.get("body", b""))

    anyio.run(app, scope, receive, reply)
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    return Raw(start["status"], headers, bytes(body))


def multipart(parts, boundary: str = "qmsBoundary7") -> tuple[tuple[str, str], bytes]:
    """(content-type header, body) of (name, value, filename or None) parts, as bytes."""
    out = bytearray()
    for name, value, filename in parts:
        disposition = b'form-data; name="' + _bytes(name) + b'"'
        if filename is not None:
            disposition += b'; filename="' + _bytes(filename) + b'"'
        out += b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disposition
        out += b"\r\n\r\n" + _bytes(value) + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return ("content-type", f"multipart/form-data; boundary={boundary}"), bytes(out)


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def pieces(data: bytes, size: int = MB) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


# What must not change ------------------------------------------------------------


def state_of(app, root: Path) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    store = app.state.store
    counts = {table: store.count(table) for table in sorted(store.tables)}
    files = {
        path.relative_to(root).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
    return counts, files


@contextlib.contextmanager
def nothing_changes(app, root: Path):
    before = state_of(app, root)
    yield
    assert state_of(app, root) == before


def problem(response: Raw, status: int, detail: str) -> None:
    """A JSON Problem with this status and Chinese detail."""
    assert response.status == status, response.body[:300]
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": status, "title": TITLES[status], "detail": detail}


def documented(path: str, method: str, status: int) -> bool:
    """The status is in the OpenAPI document for this operation (path as in the URL)."""
    for template, operations in PATHS.items():
        if re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)), path):
            return str(status) in operations[method]["responses"]
    raise AssertionError(f"{path} is not in the document")


def page(response: Raw, status: int, detail: str) -> None:
    """The HTML error page with this status and Chinese detail."""
    assert response.status == status, response.body[:300]
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert f"<h1>{TITLES[status]}</h1>" in response.text
    assert f'<p class="notice error">{detail}</p>' in response.text


def field_errors(response: Raw) -> list[str]:
    """The messages of a re-shown form (status 422)."""
    return re.findall(r"<li>([^<]+)</li>", response.text.split('role="alert"')[1].split("</ul>")[0])


# Fixtures --------------------------------------------------------------------------


@pytest.fixture
def bearer_headers(tokens) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {tokens['staff_ch']}")]


def cookie_of(client: TestClient) -> list[tuple[str, str]]:
    return [("cookie", "; ".join(f"{name}={value}" for name, value in client.cookies.items()))]


@pytest.fixture
def staff(app) -> TestClient:
    return login(app, "staff_ch")


@pytest.fixture
def browser(staff) -> tuple[list[tuple[str, str]], str]:
    """The staff user's session cookie and the CSRF token of the checklist page."""
    return cookie_of(staff), csrf_of(staff, "/forms/QR-10-99/new")


# JSON bodies ------------------------------------------------------------------------

SUBMIT = "/api/forms/QR-10-99/submissions"
JSON = ("content-type", "application/json")


@pytest.mark.parametrize(
    ("path", "headers", "chunks", "status", "detail"),
    [
        pytest.param(SUBMIT, [JSON, ("content-length", "100")], [b" " * (600 * 1024)] * 2,
                     413, "请求体超过 1 MB", id="content-length-lie"),
        pytest.param(SUBMIT, [JSON], [b" " * (600 * 1024)] * 2, 413, "请求体超过 1 MB",
                     id="chunked-without-length"),
        pytest.param(SUBMIT, [JSON], [b"[" * 200_000], 400, "请求体的 JSON 嵌套层数过多",
                     id="nested-200000-deep"),
        pytest.param("/api/acknowledgements", [JSON], [b'{"code":' * 100_000], 400,
                     "请求体的 JSON 嵌套层数过多", id="nested-acknowledgement"),
        pytest.param(SUBMIT, [JSON], [b'{"fields": {"\\ud800": 1}}'], 400,
                     "请求体包含无效的字符（不成对的 UTF-16 代理项，如 \\ud800）", id="lone-surrogate-key"),
        pytest.param(SUBMIT, [JSON], [b'{"fields": {"inspector": "\\udc00"}}'], 400,
                     "请求体包含无效的字符（不成对的 UTF-16 代理项，如 \\ud800）", id="lone-surrogate-value"),
        pytest.param(SUBMIT, [JSON], [b'{"fields": {"inspector": "\\uDBFF\\u0041"}}'], 400,
                     "请求体包含无效的字符（不成对的 UTF-16 代理项，如 \\ud800）", id="lone-surrogate-upper-case"),
        pytest.param(SUBMIT, [JSON], [b'{"items": {"a3": {"count": ' + b"9" * 5000 + b"}}}"], 400,
                     "请求体中有过长的数字", id="5000-digit-number"),
        pytest.param(SUBMIT, [JSON], [b'{"fields": {"inspector": "\xc0\xae\xc0\xae"}}'], 400,
                     "请求体不是有效的 UTF-8 文本", id="overlong-utf8"),
        pytest.param(SUBMIT, [JSON], ['{"fields": {}}'.encode("utf-16")], 400,
                     "请求体不是有效的 UTF-8 文本", id="utf16"),
        pytest.param(SUBMIT, [("content-type", "application/x-www-form-urlencoded")], [b"f.a=1"],
                     415, "请求体应为 JSON（Content-Type: application/json）", id="form-to-json-endpoint"),
        pytest.param(SUBMIT, [], [b"{}"], 415, "请求体应为 JSON（Content-Type: application/json）",
                     id="no-content-type"),
    ],
)  # fmt: skip
def test_bad_json_bodies_are_refused(
    app, env, bearer_headers, path, headers, chunks, status, detail
):
    with nothing_changes(app, env.root):
        response = send(app, "POST", path, bearer_headers + headers, chunks)
    problem(response, status, detail)
    assert documented(path, "post", status)


def test_a_valid_body_in_many_chunks_is_accepted(app, env, bearer_headers):
    """The limit counts bytes; it does not refuse a body for arriving in pieces."""
    data = {
        "fields": {"project": "CH", "date": "2026-11-21", "inspector": "陈晓东"},
        "items": perfect_items(),
    }
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    response = send(app, "POST", SUBMIT, bearer_headers + [JSON], pieces(body, 7))
    assert response.status == 201 and app.state.store.count("submissions") == 1


# Web form bodies --------------------------------------------------------------------

FORM_PAGE = "/forms/QR-10-99/new"
GOOD = {
    "f.project": "CH", "f.date": "2026-11-21", "f.inspector": "陈晓东", "i.a1.result": "合格",
    "i.a2.result": "符合", "i.a3.count": "0", "i.a4.result": "合格", "i.a5.result": "合格",
    "i.b1.result": "合格", "i.b2.result": "合格",
}  # fmt: skip
URLENCODED = ("content-type", "application/x-www-form-urlencoded")
TOO_LARGE = "提交内容超过 20 MB，请减少照片数量或压缩后再试"
NOT_UTF8 = "表单内容不是有效的 UTF-8 文本，请在网页上重新填写后提交"


def _good_parts(token: str, **extra: bytes) -> list:
    values = {**GOOD, **extra}
    return [("csrf_token", token, None), *((k, v, None) for k, v in values.items())]


def _case(kind: str, token: str) -> tuple[list[tuple[str, str]], list[bytes]]:
    """(headers, chunks) of each bad form post; valid in every other respect."""
    if kind == "declared-too-large":
        content_type, body = multipart(_good_parts(token))
        return [content_type, ("content-length", str(21 * MB))], [body]
    if kind in ("content-length-lie", "chunked-without-length"):
        content_type, body = multipart(_good_parts(token) + [("i.a1.note", b"x" * 21 * MB, None)])
        lie = [("content-length", "100")] if kind == "content-length-lie" else []
        return [content_type, *lie], pieces(body)
    if kind == "2001-fields":
        content_type, body = multipart(
            _good_parts(token) + [(f"x{i}", "1", None) for i in range(1991)]
        )
        return [content_type], [body]
    if kind == "5000-parts":
        content_type, body = multipart([(f"x{i}", "", None) for i in range(5000)])
        return [content_type], [body]
    if kind == "2001-urlencoded-fields":
        body = urllib.parse.urlencode(
            {**GOOD, "csrf_token": token, **{f"x{i}": "1" for i in range(1991)}}
        )
        return [URLENCODED], [body.encode()]
    if kind == "41-files":
        content_type, body = multipart(
            _good_parts(token) + [("i.a1.photos", JPEG, f"{i}.jpg") for i in range(41)]
        )
        return [content_type], [body]
    if kind == "multipart-value-not-utf8":
        content_type, body = multipart(_good_parts(token, **{"f.inspector": b"\xd6\xdc\xff"}))
        return [content_type], [body]
    if kind == "multipart-name-not-utf8":
        content_type, body = multipart(_good_parts(token) + [(b"i.a1.\xff", "1", None)])
        return [content_type], [body]
    if kind == "urlencoded-escape-not-utf8":
        body = urllib.parse.urlencode({**GOOD, "csrf_token": token}) + "&f.remark=%E9%99"
        return [URLENCODED], [body.encode()]
    if kind == "urlencoded-raw-byte":
        body = urllib.parse.urlencode({**GOOD, "csrf_token": token}).encode() + b"&f.remark=\xff"
        return [URLENCODED], [body]
    if kind == "json-to-form-endpoint":
        return [JSON], [json.dumps({**GOOD, "csrf_token": token}).encode()]
    if kind == "multipart-without-boundary":
        _, body = multipart(_good_parts(token))
        return [("content-type", "multipart/form-data")], [body]
    if kind == "part-without-name":
        content_type, body = multipart(_good_parts(token))
        return [content_type], [body.replace(b'name="f.date"', b'nom="f.date"')]
    raise AssertionError(kind)


FORM_CASES = [
    ("declared-too-large", 413, TOO_LARGE),
    ("content-length-lie", 413, TOO_LARGE),
    ("chunked-without-length", 413, TOO_LARGE),
    ("2001-fields", 413, "表单栏目超过 2000 个"),
    ("5000-parts", 413, "表单栏目超过 2000 个"),
    ("2001-urlencoded-fields", 413, "表单栏目超过 2000 个"),
    ("41-files", 413, "一次最多上传 40 张照片"),
    ("multipart-value-not-utf8", 400, NOT_UTF8),
    ("multipart-name-not-utf8", 400, NOT_UTF8),
    ("urlencoded-escape-not-utf8", 400, NOT_UTF8),
    ("urlencoded-raw-byte", 400, NOT_UTF8),
    ("json-to-form-endpoint", 415,
     "请通过网页表单提交（application/x-www-form-urlencoded 或 multipart/form-data）"),
    ("multipart-without-boundary", 400, "表单内容无法解析（multipart 格式不正确）"),
    ("part-without-name", 400, "表单内容无法解析（multipart 格式不正确）"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "status", "detail"), FORM_CASES, ids=[c[0] for c in FORM_CASES])
def test_bad_form_posts_are_refused(app, env, browser, kind, status, detail):
    cookie, token = browser
    headers, chunks = _case(kind, token)
    with nothing_changes(app, env.root):
        response = send(app, "POST", FORM_PAGE, cookie + headers, chunks)
    page(response, status, detail)


def test_small_forms_name_their_limit_in_kb(app, env):
    """The login form takes 64 KB; the message said "0 MB" before."""
    body = b"username=a&password=" + b"x" * (64 * 1024)
    with nothing_changes(app, env.root):
        response = send(app, "POST", "/login", [URLENCODED], pieces(body, 1000))
    page(response, 413, "提交内容超过 64 KB，请减少照片数量或压缩后再试")


def test_the_same_form_post_without_the_fault_is_stored(app, env, browser):
    """The cases above differ from an accepted post only in what they test."""
    cookie, token = browser
    content_type, body = multipart(_good_parts(token) + [("i.a1.photos", JPEG, "大堂.jpg")])
    response = send(app, "POST", FORM_PAGE, cookie + [content_type], pieces(body, 100))
    assert response.status == 303
    stored = app.state.store.get_submission("QR-10-99-20261121-0001")
    assert stored["values"]["inspector"] == "陈晓东" and len(stored["attachments"]) == 1


# Photos ------------------------------------------------------------------------------

NAME_REFUSED = "照片的文件名不能包含路径（/ 或 \\）、“..”或控制字符"
PHOTO_RESELECT = "出于安全原因，浏览器不会保留已选择的照片，请重新选择"


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        pytest.param(
            "大堂.jpg", JPEG + b"\x00" * (5 * MB), "照片“大堂.jpg”超过 5 MB", id="over-5-mb"
        ),
        pytest.param("..\\..\\..\\boot.ini", JPEG, NAME_REFUSED, id="backslash-traversal"),
        pytest.param("../../../etc/passwd", JPEG, NAME_REFUSED, id="slash-traversal"),
        pytest.param("a\x00.jpg", JPEG, NAME_REFUSED, id="nul"),
        pytest.param("..", JPEG, NAME_REFUSED, id="dot-dot"),
    ],
)
def test_bad_photos_in_a_web_form_are_refused(app, env, browser, filename, content, message):
    cookie, token = browser
    content_type, body = multipart(_good_parts(token) + [("i.a1.photos", content, filename)])
    with nothing_changes(app, env.root):
        response = send(app, "POST", FORM_PAGE, cookie + [content_type], pieces(body))
    assert response.status == 422
    assert field_errors(response) == [message, PHOTO_RESELECT]


def test_an_oversized_photo_field_of_a_record_is_refused(app, env, staff):
    parts = [("csrf_token", csrf_of(staff, "/forms/QR-12-99/new"), None)]
    parts += [(k, v, None) for k, v in INTAKE.items()]
    parts += [("f.photos", JPEG, "1.jpg"), ("f.photos", JPEG + b"\x00" * (6 * MB), "2.jpg")]
    content_type, body = multipart(parts)
    with nothing_changes(app, env.root):
        response = send(
            app, "POST", "/forms/QR-12-99/new", cookie_of(staff) + [content_type], pieces(body)
        )
    assert response.status == 422
    assert field_errors(response) == ["照片“2.jpg”超过 5 MB", PHOTO_RESELECT]


@pytest.mark.parametrize(
    ("headers", "chunks", "status", "detail"),
    [
        pytest.param([("content-length", "100")], pieces(JPEG + b"\x00" * (6 * MB)), 413,
                     "照片超过 5 MB", id="content-length-lie"),
        pytest.param([], pieces(JPEG + b"\x00" * (6 * MB)), 413, "照片超过 5 MB",
                     id="chunked-without-length"),
        pytest.param([("x-filename", "../../etc/passwd")], [JPEG], 422, NAME_REFUSED,
                     id="slash-traversal"),
        pytest.param([("x-filename", "..\\..\\qms.json")], [JPEG], 422, NAME_REFUSED,
                     id="backslash-traversal"),
        pytest.param([("x-filename", "a\x00.jpg")], [JPEG], 422, NAME_REFUSED, id="nul"),
        pytest.param([("x-filename", "..")], [JPEG], 422, NAME_REFUSED, id="dot-dot"),
        pytest.param([("x-filename", "b" * 300 + "/x.jpg")], [JPEG], 422, NAME_REFUSED,
                     id="path-past-the-stored-100-characters"),
    ],
)  # fmt: skip
def test_bad_attachment_uploads_are_refused(
    app, env, bearer_headers, headers, chunks, status, detail
):
    with nothing_changes(app, env.root):
        response = send(app, "POST", "/api/attachments",
                        bearer_headers + [("content-type", "image/jpeg"), *headers], chunks)  # fmt: skip
    problem(response, status, detail)
    assert documented("/api/attachments", "post", status)


# Query strings --------------------------------------------------------------------------

NOT_UTF8_QUERY = "网址中的查询参数不是有效的 UTF-8 文本"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        pytest.param("/api/submissions", b"form=%ff", id="api-escape"),
        pytest.param("/api/reports/monthly", b"month=%ed%a0%80", id="api-encoded-surrogate"),
        pytest.param("/api/forms", b"x=\xff", id="api-raw-byte"),
        pytest.param("/submissions/", b"form=%ff%fe", id="page-escape"),
        pytest.param("/reports/monthly", b"unit=%c0%ae%c0%ae", id="page-overlong"),
    ],
)
def test_query_strings_that_are_not_utf8_are_refused(app, env, bearer_headers, path, query):
    with nothing_changes(app, env.root):
        response = send(app, "GET", path, bearer_headers, query=query)
    if path.startswith("/api/"):
        problem(response, 400, NOT_UTF8_QUERY)
        assert documented(path, "get", 400)
    else:
        page(response, 400, NOT_UTF8_QUERY)


def test_query_strings_in_utf8_still_work(app, bearer_headers):
    response = send(
        app, "GET", "/api/submissions", bearer_headers, query="submitted_by=陈".encode()
    )
    assert response.status == 200 and response.json() == {"total": 0, "items": []}


# Paths ------------------------------------------------------------------------------------


@pytest.fixture
def hosted(env, password_hash):
    """The app with published editions, and files beside the served folders to go after."""
    editions = env.root / "editions"
    (editions / "latest").mkdir(parents=True)
    (editions / "versions.json").write_text("[]", encoding="utf-8")
    (editions / "latest" / "index.html").write_text("<h1>旧版手册</h1>", encoding="utf-8")
    (env.root / "secret.txt").write_text(SECRET, encoding="utf-8")
    application = app_with(env, password_hash, editions_dir=editions)
    with TestClient(application):
        yield application


@pytest.mark.parametrize(
    "raw_path",
    [
        "/static-app/../app.py",
        "/static-app/..%2fapp.py",
        "/static-app/%2e%2e/app.py",
        "/static-app/..%5capp.py",
        "/static-app/%252e%252e/app.py",
        "/static-app/%c0%ae%c0%ae/app.py",
        "/static-app//etc/passwd",
        "/static-app/%00",
        "/%2e%2e/",
        "/../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fdata%2fforms%2fQR-10-99.yml",
        "/..%2fdata%2fdb%2fqms.lock",
        "/editions/..%2f..%2fetc/passwd",
        "/editions/..%2fsecret.txt",
        "/editions/latest/../../secret.txt",
        "/editions/%2e%2e/%2e%2e/secret.txt",
        "/attachments/../../qms.json",
        "/attachments/..%2f..%2fdata%2fforms%2fQR-10-99.yml",
    ],
)
def test_path_traversal_finds_nothing(hosted, env, raw_path):
    headers = cookie_of(login(hosted, "staff_ch"))
    with nothing_changes(hosted, env.root):
        response = send(hosted, "GET", raw_path, headers)
    page(response, 404, "找不到页面")
    for leaked in (SECRET, "create_app", "测试检查表", "root:"):
        assert leaked not in response.text


def test_path_traversal_under_the_api_is_a_json_404(hosted, env):
    token = hosted.state.store.create_token("staff_ch", "测试", by="test")[0]
    with nothing_changes(hosted, env.root):
        response = send(
            hosted, "GET", "/api/..%2f..%2fsecret.txt", [("authorization", f"Bearer {token}")]
        )
    problem(response, 404, "没有此接口：/api/../../secret.txt")


def test_the_served_folders_still_serve(hosted):
    client = login(hosted, "staff_ch")
    assert client.get("/editions/latest/").text == "<h1>旧版手册</h1>"
    assert client.get("/static-app/app.css").status_code == 200
