"""Who may do what: every route of the app × every role, with the exact answer expected.

The matrix is checked against ``app.routes``: a route added without a row here fails
`test_every_route_has_a_row_in_the_matrix`. Each request is well formed and carries
the caller's CSRF token, so the status shows the access rule and nothing else
(CSRF has its own tests in test_csrf.py).

Columns: anonymous, staff of 翠湖花园 (CH, 客户服务中心) whose records these are,
staff of 锦江华府 (JJ), quality, auditor, admin.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from forms_server.app import SERVER_CSP
from tests.conftest import USERS, app_routes, app_with, bearer, csrf_of, login, make_env, number_of
from tests.test_acknowledgements import doc, publish
from tests.test_api import PNG
from tests.test_app import GOOD
from tests.test_workflows import INTAKE, act, register_complaint

ROLES = ("anonymous", "staff_ch", "staff_jj", "quality", "auditor", "admin")
PAGE = (303, 200, 200, 200, 200, 200)  # every signed-in role reads it
API = (401, 200, 200, 200, 200, 200)
OWN = (303, 200, 404, 200, 200, 200)  # a CH record: other 管理处 get the same 404 as for none
API_OWN = (401, 200, 404, 200, 200, 200)


@dataclass(frozen=True)
class Case:
    route: str  # the route's path exactly as in app.routes ("" is the manual's mount at /)
    method: str
    url: str  # a concrete URL; {S}, {C}, {N}, {FC}, {A} are the seeded records
    expect: tuple[int, ...]  # by ROLES
    body: str = ""  # "form": form fields + csrf_token; "json": JSON + X-CSRF-Token; "upload"
    data: dict = field(default_factory=dict)
    to: str = ""  # where signed-in users are redirected, for 303
    fresh: bool = False  # needs its own session (the request ends it)


CASES = [
    Case("/healthz", "GET", "/healthz", (200,) * 6),
    Case("/login", "GET", "/login", (200, 303, 303, 303, 303, 303), to="/forms/"),
    # Without the login page's own double-submit token nobody, signed in or not, logs in.
    Case("/login", "POST", "/login", (403,) * 6, "form", {"username": "staff_ch", "password": "x"}),
    Case("/logout", "POST", "/logout", (303,) * 6, "form", to="/login", fresh=True),
    Case("/setup", "GET", "/setup", (404,) * 6),  # users exist: the first-start page is gone
    Case("/setup", "POST", "/setup", (404,) * 6, "form", {"code": "x"}),
    Case("/forms/", "GET", "/forms/", PAGE),
    Case("/forms/{code}/new", "GET", "/forms/QR-10-99/new", (303, 200, 200, 200, 403, 403)),
    Case("/forms/{code}/new", "POST", "/forms/QR-10-99/new", (303, 422, 422, 422, 403, 403),
         "form", {"f.remark": "空白"}),
    Case("/submissions/", "GET", "/submissions/", PAGE),
    Case("/submissions.csv", "GET", "/submissions.csv", PAGE),
    Case("/submissions/{number}", "GET", "/submissions/{S}", OWN),
    Case("/submissions/{number}/reinspect", "GET", "/submissions/{S}/reinspect", OWN),
    Case("/submissions/{number}/reinspect", "POST", "/submissions/{S}/reinspect",
         (303, 422, 404, 422, 403, 403), "form"),
    Case("/attachments/{attachment_id}", "GET", "/attachments/{A}", OWN),
    Case("/complaints/", "GET", "/complaints/", PAGE),
    Case("/complaints/{number}", "GET", "/complaints/{C}", OWN),
    Case("/complaints/{number}", "POST", "/complaints/{C}", (303, 422, 404, 422, 403, 403),
         "form", {"action": "no-such-action"}),
    Case("/notices/", "GET", "/notices/", PAGE),
    Case("/notices/{number}", "GET", "/notices/{N}", OWN),
    Case("/reinspections/{number}", "GET", "/reinspections/{FC}", OWN),
    Case("/reports/", "GET", "/reports/", PAGE),
    Case("/reports/{kind}", "GET", "/reports/monthly?unit=CH", (303, 200, 403, 200, 200, 200)),
    Case("/acknowledgements/", "GET", "/acknowledgements/", (303, 403, 403, 200, 200, 200)),
    Case("/acknowledgements/mine", "GET", "/acknowledgements/mine",
         (303, 200, 200, 200, 403, 403)),
    Case("/acknowledgements/mine", "POST", "/acknowledgements/mine",
         (303, 200, 200, 200, 403, 403), "form", {"code": "QP-01", "version": "A/0"}),
    Case("/account/password", "GET", "/account/password", PAGE),
    Case("/account/password", "POST", "/account/password", (303, 422, 422, 422, 422, 422),
         "form", {"current": "not-my-password", "password": "Another-2026", "password2": "x"}),
    Case("/admin/users", "GET", "/admin/users", (303, 403, 403, 403, 403, 200)),
    Case("/admin/users", "POST", "/admin/users", (303, 403, 403, 403, 403, 422),
         "form", {"action": "create", "username": "", "role": "staff"}),
    Case("/admin/audit", "GET", "/admin/audit", (303, 403, 403, 200, 200, 200)),
    Case("/admin/evidence", "GET", "/admin/evidence?from=2026-11-01&to=2026-11-30",
         (303, 403, 403, 200, 200, 200)),
    Case("/history/{table}/{number}", "GET", "/history/submissions/{S}",
         (303, 200, 404, 200, 200, 200)),
    Case("/api/openapi.json", "GET", "/api/openapi.json", API),
    Case("/api/me", "GET", "/api/me", API),
    Case("/api/forms", "GET", "/api/forms", API),
    Case("/api/forms/{code}", "GET", "/api/forms/QR-10-99", API),
    Case("/api/forms/{code}/submissions", "POST", "/api/forms/QR-10-99/submissions",
         (401, 422, 422, 422, 403, 403), "json", {"fields": {"project": "CH"}}),
    Case("/api/submissions", "GET", "/api/submissions?project=CH",
         (401, 200, 403, 200, 200, 200)),
    Case("/api/submissions/{number}", "GET", "/api/submissions/{S}", API_OWN),
    Case("/api/attachments", "POST", "/api/attachments", (401, 422, 422, 422, 403, 403), "upload"),
    Case("/api/history/{table}/{number}", "GET", "/api/history/submissions/{S}",
         (401, 200, 404, 200, 200, 200)),
    Case("/api/reports/{kind}", "GET", "/api/reports/monthly?unit=CH",
         (401, 200, 403, 200, 200, 200)),
    Case("/api/acknowledgements", "GET", "/api/acknowledgements", (401, 403, 403, 200, 200, 200)),
    Case("/api/acknowledgements", "POST", "/api/acknowledgements",
         (401, 201, 201, 201, 403, 403), "json", {"code": "QP-01", "version": "A/0"}),
    Case("/api/acknowledgements/mine", "GET", "/api/acknowledgements/mine",
         (401, 200, 200, 200, 403, 403)),
    *(Case("/api/{rest:path}", m, "/api/no-such-thing", (401, 404, 404, 404, 404, 404), "json")
      for m in ("GET", "POST", "PUT", "PATCH", "DELETE")),
    Case("/editions", "GET", "/editions/latest/", PAGE),
    Case("/static-app", "GET", "/static-app/app.css", (200,) * 6),  # the login page's own CSS
    Case("", "GET", "/", PAGE),
]  # fmt: skip


def route_keys(app) -> set[tuple[str, str]]:
    """(path, method) of every route the app answers; mounts answer GET."""
    keys = set()
    for path, route in app_routes(app):
        if isinstance(route, Mount):
            keys.add((path, "GET"))
        elif isinstance(route, Route):
            keys |= {(path, m) for m in route.methods - {"HEAD"}}
        else:  # pragma: no cover - a new kind of route needs a row and a rule here
            raise AssertionError(f"unknown route type {route!r}")
    return keys


@dataclass
class World:
    app: object
    clients: dict[str, TestClient]
    csrf: dict[str, str]
    tokens: dict[str, str]
    ids: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory, password_hash):
    """One app with users of every role, a CH inspection (with a photo, notices and a
    re-inspection), a CH complaint, a published manual and a published edition."""
    base = make_env(tmp_path_factory.mktemp("access"))
    editions = base.root / "editions"
    (editions / "latest").mkdir(parents=True)
    (editions / "versions.json").write_text("[]", encoding="utf-8")
    (editions / "latest" / "index.html").write_text("<h1>最新版本</h1>", encoding="utf-8")
    publish(base, [doc("QP-01", title="文件控制程序")], edition="2026.1")
    app = app_with(base, password_hash, editions_dir=editions)
    store = app.state.store
    with TestClient(app):
        clients = {name: login(app, name) for name in USERS}
        clients["anonymous"] = TestClient(app, follow_redirects=False)
        tokens = {name: store.create_token(name, "测试", by="test")[0] for name in USERS}
        staff, quality = clients["staff_ch"], clients["quality"]
        inspection = {**GOOD, "csrf_token": csrf_of(staff), "i.b1.result": "不合格"}
        number = staff.post("/forms/QR-10-99/new", data=inspection,
                            files={"i.a1.photos": ("a.png", PNG, "image/png")})  # fmt: skip
        number = number_of(number)
        photo = store.get_submission(number)["items"]["a1"]["photos"][0]
        notices = [n["number"] for n in store.derived_of(number)["notices"]]
        reinspected = quality.post(
            f"/submissions/{number}/reinspect",
            data={"csrf_token": csrf_of(quality), **{f"r.{n}": "不合格" for n in notices},
                  f"r.{notices[0]}": "合格"},
        )  # fmt: skip
        complaint = staff.post("/forms/QR-12-99/new", data={**INTAKE, "csrf_token": csrf_of(staff)})
        ids = {
            "S": number,
            "A": photo,
            "N": notices[0],
            "FC": number_of(reinspected),
            "C": number_of(complaint),
        }
        csrf = {name: csrf_of(client) for name, client in clients.items() if name in USERS}
        yield World(app, clients, csrf, tokens, ids)


def call(world: World, case: Case, role: str, via: str = "session"):
    """Make the case's request as ``role`` (through its browser session or its API token)."""
    url = case.url.format(**world.ids)
    client, headers, csrf = world.clients[role], {}, world.csrf.get(role, "")
    if via == "token":
        client = world.clients["anonymous"]
        headers = bearer(world.tokens[role]) if role in world.tokens else {}
        csrf = ""
    elif case.fresh and role != "anonymous":
        client = login(world.app, role)
        csrf = csrf_of(client)
    if case.body == "form":
        data = {**case.data, **({"csrf_token": csrf} if csrf else {})}
        return client.request(case.method, url, data=data, headers=headers)
    if case.body == "json":
        headers |= {"X-CSRF-Token": csrf} if csrf else {}
        return client.request(case.method, url, json=case.data, headers=headers)
    if case.body == "upload":
        headers |= {"Content-Type": "image/png"} | ({"X-CSRF-Token": csrf} if csrf else {})
        return client.request(case.method, url, content=b"", headers=headers)
    return client.request(case.method, url, headers=headers)


def outcome(response) -> int | str:
    """The status, and for a redirect where it goes."""
    if response.status_code == 303:
        return f"303 → {response.headers['location']}"
    return response.status_code


def expected(case: Case, url: str) -> dict[str, int | str]:
    out = {}
    for role, status in zip(ROLES, case.expect, strict=True):
        if status == 303:
            target = f"/login?next={urllib.parse.quote(url)}" if role == "anonymous" else case.to
            out[role] = f"303 → {target}"
        else:
            out[role] = status
    return out


def test_every_route_has_a_row_in_the_matrix(world):
    assert {(c.route, c.method) for c in CASES} == route_keys(world.app)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.method} {c.route or '/'}" for c in CASES])
def test_access_matrix(world, case):
    url = case.url.format(**world.ids)
    responses = {role: call(world, case, role) for role in ROLES}
    assert {role: outcome(r) for role, r in responses.items()} == expected(case, url)
    for role, response in responses.items():
        if role == "anonymous" and url.startswith("/api/"):
            assert response.headers["content-type"] == "application/json"
            assert response.json()["title"] == "请先登录"
        assert_security_headers(url, response)


API_CASES = [c for c in CASES if c.url.startswith("/api/")]


@pytest.mark.parametrize("case", API_CASES, ids=[f"{c.method} {c.route}" for c in API_CASES])
def test_api_tokens_get_the_same_answers_without_csrf_headers(world, case):
    """Bearer clients of each role: the same rules, and no CSRF header needed for writes."""
    got = {role: call(world, case, role, via="token").status_code for role in ROLES}
    assert got == dict(zip(ROLES, case.expect, strict=True))


def assert_security_headers(url: str, response) -> None:
    """Every answer forbids framing and sniffing; the server's own pages add a strict CSP."""
    headers = response.headers
    assert headers.get_list("x-content-type-options") == ["nosniff"]
    assert headers.get_list("x-frame-options") == ["DENY"]
    assert headers.get_list("referrer-policy") == ["same-origin"]
    if url == "/" or url.startswith("/editions/"):
        # The static manual is built by the site engine and keeps its own scripts.
        assert "content-security-policy" not in headers
    else:
        assert headers.get_list("content-security-policy") == [SERVER_CSP]
        private = url.startswith("/attachments/") and response.status_code == 200
        assert headers.get_list("cache-control") == (
            ["private, max-age=3600"] if private else ["no-store"]
        )


def test_the_server_csp_allows_nothing_from_elsewhere():
    assert SERVER_CSP.split("; ") == [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
    ]


def test_anonymous_clients_asking_for_json_get_401_not_a_login_page(world):
    anonymous = world.clients["anonymous"]
    for url in ("/forms/", "/submissions/{S}", "/reports/monthly"):
        response = anonymous.get(url.format(**world.ids), headers={"Accept": "application/json"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="qms"'
        assert response.json() == {"status": 401, "title": "请先登录", "detail": "请先登录"}


def test_a_deactivated_user_loses_session_and_tokens(world):
    """Deactivation takes effect at once: the browser session and API tokens stop working."""
    store, admin = world.app.state.store, world.clients["admin"]
    store.add_user({"username": "leaver", "display_name": "离职员工", "role": "staff",
                    "project": "CH", "active": True,
                    "password_hash": store.get_user("staff_ch")["password_hash"]}, by="test")  # fmt: skip
    browser = login(world.app, "leaver")
    token = store.create_token("leaver", "终端", by="test")[0]
    assert browser.get("/forms/").status_code == 200
    assert world.clients["anonymous"].get("/api/me", headers=bearer(token)).status_code == 200
    response = admin.post("/admin/users", data={"csrf_token": world.csrf["admin"], "action": "update",
                                                "username": "leaver", "role": "staff", "project": "CH"})  # fmt: skip
    assert response.status_code == 200 and "已更新用户 leaver" in response.text
    assert browser.get("/forms/").headers["location"] == "/login?next=/forms/"
    assert world.clients["anonymous"].get("/api/me", headers=bearer(token)).status_code == 401


def test_a_revoked_token_stops_working(world):
    store, admin = world.app.state.store, world.clients["admin"]
    token, record = store.create_token("staff_jj", "临时", by="test")
    assert world.clients["anonymous"].get("/api/me", headers=bearer(token)).status_code == 200
    response = admin.post("/admin/users", data={"csrf_token": world.csrf["admin"], "action": "revoke",
                                                "token_id": record["token_id"]})  # fmt: skip
    assert response.status_code == 200 and "令牌已吊销" in response.text
    assert world.clients["anonymous"].get("/api/me", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Basic c3RhZmZfY2g6U2VjcmV0LTIwMjY=", "Bearer ", "Bearer qms_forged", "qms_forged"],
    ids=["basic", "empty-bearer", "unknown-token", "no-scheme"],
)
def test_anything_but_a_valid_bearer_token_is_anonymous(world, header):
    """A bad Authorization header is not silently replaced by the session cookie either."""
    staff = world.clients["staff_ch"]
    response = staff.get("/api/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert staff.get("/forms/", headers={"Authorization": header}).status_code == 303


def test_without_a_published_edition_the_editions_page_still_needs_login(env, password_hash):
    app = app_with(env, password_hash, editions_dir=env.root / "no-editions")
    with TestClient(app, follow_redirects=False) as anonymous:
        assert "/editions/{rest:path}" in {r.path for r in app.routes}
        assert anonymous.get("/editions/latest/").headers["location"] == (
            "/login?next=/editions/latest/"
        )
        response = login(app, "auditor").get("/editions/latest/")
        assert response.status_code == 404 and "尚未发布手册版本" in response.text


def test_staff_created_by_the_admin_keep_their_team(app, clients):
    """The team decides who may dispatch, visit and close complaints (QP-12 §4.8)."""
    admin = clients["admin"]
    user = {"csrf_token": csrf_of(admin, "/admin/users"), "action": "create", "username": "kefu",
            "role": "staff", "project": "CH", "password": "Kefu-2026x", "password2": "Kefu-2026x"}  # fmt: skip
    wrong = admin.post("/admin/users", data={**user, "team": "不存在的班组"})
    assert wrong.status_code == 422 and "请选择班组" in wrong.text
    created = admin.post("/admin/users", data={**user, "team": "客户服务中心"})
    assert created.status_code == 200 and "已创建用户 kefu" in created.text
    assert app.state.store.get_user("kefu")["team"] == "客户服务中心"
    number = register_complaint(clients["staff_ch"])
    assert (
        act(login(app, "kefu", "Kefu-2026x"), "dispatch", number, team="工程维修班").status_code
        == 303
    )
