"""CSRF: every state-changing browser form and every JSON write made with a session cookie.

Each form post is tried without its token, with a forged one, with an empty one and
with the valid token of another session: 403, and the store is byte for byte what
it was. The same post with the right token then succeeds, so the token is the only
thing that was missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.conftest import PASSWORD, app_routes, csrf_of, login, make_env, number_of
from tests.test_acknowledgements import MANUAL, publish
from tests.test_api import GOOD as API_GOOD
from tests.test_api import PNG
from tests.test_app import GOOD
from tests.test_workflows import register_complaint, two_failures


def snapshot(store) -> str:
    """Everything the store holds (sessions included), for before/after comparisons."""
    return json.dumps(store.tables, sort_keys=True, ensure_ascii=False, default=str)


@dataclass
class Post:
    """One state-changing form post, ready to be sent with any token."""

    store: object
    send: Callable  # data -> response
    data: dict
    token: str  # the valid token for this browser
    other: str  # a valid token, but of another browser
    done: Callable  # response -> None: asserts the post did what it is for


def _login(app, clients, env, request) -> Post:
    browser = TestClient(app, follow_redirects=False)
    token = csrf_of(browser, "/login")
    other = csrf_of(TestClient(app), "/login")

    def done(response):
        assert (response.status_code, response.headers["location"]) == (303, "/forms/")
        assert browser.get("/forms/").status_code == 200

    data = {"username": "staff_ch", "password": PASSWORD}
    return Post(app.state.store, lambda d: browser.post("/login", data=d), data, token, other, done)


def _logout(app, clients, env, request) -> Post:
    browser = login(app, "staff_ch")

    def done(response):
        assert (response.status_code, response.headers["location"]) == (303, "/login")
        assert browser.get("/forms/").status_code == 303  # the session is gone

    # The form has nothing but its token; a forged one has at least some field.
    return Post(app.state.store, lambda d: browser.post("/logout", data=d), {"go": "1"},
                csrf_of(browser), csrf_of(clients["staff_ch"]), done)  # fmt: skip


def _setup(app, clients, env, request) -> Post:
    (env.root / "first-start").mkdir()
    fresh = make_env(env.root / "first-start")
    first = fresh.app()
    request.addfinalizer(first.state.store.close)
    browser = TestClient(first, follow_redirects=False)
    token = csrf_of(browser, "/setup")
    other = csrf_of(TestClient(first), "/setup")
    code = (fresh.settings.data_dir / "setup-code.txt").read_text(encoding="utf-8").strip()
    data = {"code": code, "username": "boss", "display_name": "王建国",
            "password": "Admin-2026", "password2": "Admin-2026"}  # fmt: skip

    def done(response):
        assert (response.status_code, response.headers["location"]) == (303, "/login")
        assert [u["username"] for u in first.state.store.list_users()] == ["boss"]

    return Post(
        first.state.store, lambda d: browser.post("/setup", data=d), data, token, other, done
    )


def _submit(app, clients, env, request) -> Post:
    staff = clients["staff_ch"]

    def done(response):
        assert response.status_code == 303
        assert response.headers["location"] == "/submissions/QR-10-99-20261121-0001?new=1"

    return Post(app.state.store, lambda d: staff.post("/forms/QR-10-99/new", data=d), GOOD,
                csrf_of(staff), csrf_of(clients["staff_jj"]), done)  # fmt: skip


def _reinspect(app, clients, env, request) -> Post:
    number = number_of(two_failures(clients["staff_ch"]))
    quality = clients["quality"]
    data = {f"r.{n['number']}": "合格" for n in app.state.store.derived_of(number)["notices"]}

    def done(response):
        assert (response.status_code, response.headers["location"]) == (
            303,
            "/reinspections/FC-20261121-0001",
        )

    return Post(app.state.store, lambda d: quality.post(f"/submissions/{number}/reinspect", data=d),
                data, csrf_of(quality), csrf_of(clients["staff_ch"]), done)  # fmt: skip


def _complaint(app, clients, env, request) -> Post:
    number = register_complaint(clients["staff_ch"])
    staff = clients["staff_ch"]

    def done(response):
        assert (response.status_code, response.headers["location"]) == (
            303,
            f"/complaints/{number}",
        )
        assert app.state.store.get("complaints", number)["state"] == "派工"

    return Post(app.state.store, lambda d: staff.post(f"/complaints/{number}", data=d),
                {"action": "dispatch", "team": "工程维修班"}, csrf_of(staff),
                csrf_of(clients["worker_ch"]), done)  # fmt: skip


def _acknowledge(app, clients, env, request) -> Post:
    publish(env, MANUAL, edition="2026.1")
    staff = clients["staff_ch"]

    def done(response):
        assert response.status_code == 200 and "已确认阅读 QP-01（A/0）" in response.text

    return Post(app.state.store, lambda d: staff.post("/acknowledgements/mine", data=d),
                {"code": "QP-01", "version": "A/0"}, csrf_of(staff), csrf_of(clients["quality"]),
                done)  # fmt: skip


def _password(app, clients, env, request) -> Post:
    staff = clients["staff_ch"]
    data = {"current": PASSWORD, "password": "Changed-2026", "password2": "Changed-2026"}

    def done(response):
        assert response.status_code == 303
        assert response.headers["location"] == "/account/password?done=1"
        login(app, "staff_ch", "Changed-2026")

    return Post(app.state.store, lambda d: staff.post("/account/password", data=d), data,
                csrf_of(staff), csrf_of(clients["staff_jj"]), done)  # fmt: skip


def _admin(action: str, data: dict, message: str):
    def build(app, clients, env, request) -> Post:
        admin = clients["admin"]
        fields = dict(data)
        if action == "revoke":
            fields["token_id"] = app.state.store.create_token("staff_jj", "旧终端", by="test")[1][
                "token_id"
            ]

        def done(response):
            assert response.status_code == 200 and message in response.text

        return Post(app.state.store, lambda d: admin.post("/admin/users", data=d),
                    {"action": action, **fields}, csrf_of(admin, "/admin/users"),
                    csrf_of(clients["quality"]), done)  # fmt: skip

    return build


NEW_USER = {"username": "liu", "display_name": "刘芳", "role": "staff", "project": "NS",
            "password": "Chengzi-2026", "password2": "Chengzi-2026"}  # fmt: skip
FORM_POSTS = {
    "/login": _login,
    "/logout": _logout,
    "/setup": _setup,
    "/forms/{code}/new": _submit,
    "/submissions/{number}/reinspect": _reinspect,
    "/complaints/{number}": _complaint,
    "/acknowledgements/mine": _acknowledge,
    "/account/password": _password,
    "/admin/users create": _admin("create", NEW_USER, "已创建用户 liu"),
    "/admin/users update": _admin(
        "update",
        {"username": "staff_jj", "role": "staff", "project": "JJ", "password": "Reset-2026x"},
        "已更新用户 staff_jj",
    ),
    "/admin/users token": _admin(
        "token", {"username": "staff_jj", "name": "巡检终端"}, "已为 staff_jj 创建令牌"
    ),
    "/admin/users revoke": _admin("revoke", {}, "令牌已吊销"),
}


def test_every_browser_form_post_is_covered(app):
    """A new POST route that is not part of the JSON API needs a row above."""
    posts = {
        path
        for path, r in app_routes(app)
        if isinstance(r, Route) and "POST" in r.methods and not path.startswith("/api/")
    }
    assert posts == {key.split(" ")[0] for key in FORM_POSTS}


@pytest.mark.parametrize("key", FORM_POSTS)
def test_form_posts_without_the_right_token_change_nothing(app, clients, env, request, key):
    post = FORM_POSTS[key](app, clients, env, request)
    before = snapshot(post.store)
    tokens = {
        "missing": None,
        "empty": "",
        "forged": "x" * len(post.token),
        "other-session": post.other,
    }
    for name, token in tokens.items():
        data = dict(post.data) if token is None else {**post.data, "csrf_token": token}
        response = post.send(data)
        assert response.status_code == 403, name
        assert "CSRF 校验失败" in response.text, name
        assert snapshot(post.store) == before, name
    assert post.other != post.token
    post.done(post.send({**post.data, "csrf_token": post.token}))
    assert snapshot(post.store) != before


# JSON writes ----------------------------------------------------------------------------


def _json_write(env, kind: str):
    """(path, request keyword arguments) of a JSON write that succeeds with 201."""
    if kind == "submission":
        return "/api/forms/QR-10-99/submissions", {"json": API_GOOD}
    if kind == "photo":
        return "/api/attachments", {"content": PNG, "headers": {"Content-Type": "image/png"}}
    publish(env, MANUAL, edition="2026.1")
    return "/api/acknowledgements", {"json": {"code": "QP-01", "version": "A/0"}}


@pytest.mark.parametrize("kind", ["submission", "photo", "acknowledgement"])
def test_json_writes_with_a_session_need_the_token_in_the_header(app, clients, env, kind):
    path, kwargs = _json_write(env, kind)
    staff, store = clients["staff_ch"], app.state.store
    token, other = csrf_of(staff), csrf_of(clients["worker_ch"])
    before = snapshot(store)
    attempts = {
        "missing": ({}, path),
        "empty": ({"X-CSRF-Token": ""}, path),
        "forged": ({"X-CSRF-Token": "x" * len(token)}, path),
        "other-session": ({"X-CSRF-Token": other}, path),
        "in-the-query": ({}, f"{path}?csrf_token={token}"),
        "wrong-header": ({"X-XSRF-Token": token}, path),
    }
    for name, (headers, url) in attempts.items():
        response = staff.post(
            url, **{**kwargs, "headers": {**kwargs.get("headers", {}), **headers}}
        )
        assert response.status_code == 403, name
        assert response.json()["detail"].startswith("页面已过期或来源不明（CSRF 校验失败）"), name
        assert snapshot(store) == before, name
    headers = {**kwargs.get("headers", {}), "X-CSRF-Token": token}
    assert staff.post(path, **{**kwargs, "headers": headers}).status_code == 201
    assert snapshot(store) != before


@pytest.mark.parametrize("kind", ["submission", "photo", "acknowledgement"])
def test_json_writes_with_a_bearer_token_need_no_csrf_header(app, env, tokens, kind):
    """No cookie rides along with a bearer token, so there is nothing to forge."""
    path, kwargs = _json_write(env, kind)
    api = TestClient(app)
    headers = {**kwargs.get("headers", {}), "Authorization": f"Bearer {tokens['staff_ch']}"}
    assert api.post(path, **{**kwargs, "headers": headers}).status_code == 201


def test_a_cross_site_form_cannot_post_json(app, clients):
    """Forms from other sites can send text/plain or form encoding, never JSON with a header."""
    staff = clients["staff_ch"]
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = staff.post("/api/forms/QR-10-99/submissions", content=json.dumps(API_GOOD),
                              headers={"Content-Type": content_type})  # fmt: skip
        assert response.status_code == 403
    assert app.state.store.count("submissions") == 0


def test_a_json_body_cannot_stand_in_for_a_browser_form(app, clients):
    """Form routes accept only form encodings, so a token-less JSON post is refused too."""
    staff = clients["staff_ch"]
    response = staff.post("/forms/QR-10-99/new", json={**GOOD, "csrf_token": csrf_of(staff)})
    assert response.status_code == 415
    assert app.state.store.count("submissions") == 0
