"""Sessions and passwords: cookie flags, ending sessions, throttled logins, no clear passwords.

test_app.py covers the basics (HttpOnly/Lax cookie, a stolen cookie after logout,
five failures for one account); these tests cover the rest of the session model.
"""

from __future__ import annotations

import logging
import re
import urllib.parse

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from forms_server.auth import Throttle
from tests.conftest import PASSWORD, app_with, csrf_of, login


def set_cookies(response) -> dict[str, list[str]]:
    """Set-Cookie headers by cookie name: the value first, then the attributes, sorted."""
    out = {}
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = header.split("; ")
        name, _, value = first.partition("=")
        out[name] = [value, *sorted(attributes)]
    return out


def try_login(client: TestClient, username: str, password: str, **extra):
    token = csrf_of(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, **extra}
    )


def error_of(response) -> str:
    return re.search(r'<p class="notice error" role="alert">([^<]*)</p>', response.text).group(1)


# Cookies ---------------------------------------------------------------------------


@pytest.mark.parametrize("secure", [False, True], ids=["http", "https"])
def test_cookie_flags(env, password_hash, secure):
    app = app_with(env, password_hash, secure_cookies=secure, session_hours=12)
    scheme = "https" if secure else "http"  # a browser sends Secure cookies over HTTPS only
    with TestClient(app, base_url=f"{scheme}://testserver", follow_redirects=False) as client:
        https = ["Secure"] if secure else []
        page = client.get("/login")
        token = client.cookies.get("qms_login_csrf")
        assert set_cookies(page) == {
            "qms_login_csrf": [token, "HttpOnly", "Path=/", "SameSite=strict", *https]
        }
        response = try_login(client, "staff_ch", PASSWORD)
        cookies = set_cookies(response)
        sid = client.cookies.get("qms_session")
        assert cookies["qms_session"] == [
            sid,
            *sorted(["HttpOnly", "Max-Age=43200", "Path=/", "SameSite=lax", *https]),
        ]
        # The login page's token is spent once the session exists.
        assert cookies["qms_login_csrf"][0] == '""' and "Max-Age=0" in cookies["qms_login_csrf"]
        assert sid not in str(app.state.store.tables)  # only its hash is stored
        logout = client.post("/logout", data={"csrf_token": csrf_of(client)})
        assert set_cookies(logout)["qms_session"][0] == '""'
        assert "Max-Age=0" in set_cookies(logout)["qms_session"]


# Ending sessions ------------------------------------------------------------------------


def test_logout_ends_only_this_browsers_session_and_the_api_sees_it(app):
    phone, desk = login(app, "staff_ch"), login(app, "staff_ch")
    sid = phone.cookies.get("qms_session")
    store = app.state.store
    assert len(store.search("sessions")) == 2
    assert phone.post("/logout", data={"csrf_token": csrf_of(phone)}).status_code == 303
    stolen = TestClient(app, follow_redirects=False, cookies={"qms_session": sid})
    assert stolen.get("/api/me").status_code == 401
    assert stolen.post("/logout", data={"csrf_token": "x"}).headers["location"] == (
        "/login?next=/logout"
    )
    assert len(store.search("sessions")) == 1
    assert desk.get("/api/me").json()["username"] == "staff_ch"


def test_sessions_expire_after_the_configured_hours(env, password_hash):
    app = app_with(env, password_hash, session_hours=12)
    with TestClient(app):
        client = login(app, "quality")
        env.clock.advance(hours=11, minutes=59)
        assert client.get("/forms/").status_code == 200
        env.clock.advance(minutes=1)
        assert client.get("/forms/").headers["location"] == "/login?next=/forms/"
        assert client.get("/api/me").status_code == 401


def test_login_issues_a_new_session_id(app):
    """A session id planted in the browser before login (session fixation) is never used."""
    client = TestClient(app, follow_redirects=False, cookies={"qms_session": "planted-by-attacker"})
    assert client.get("/forms/").status_code == 303
    response = try_login(client, "staff_ch", PASSWORD)
    assert response.status_code == 303
    sid = set_cookies(response)["qms_session"][0]
    assert sid != "planted-by-attacker" and len(sid) >= 43
    planted = TestClient(
        app, follow_redirects=False, cookies={"qms_session": "planted-by-attacker"}
    )
    assert planted.get("/forms/").status_code == 303


def test_changing_ones_password_ends_every_other_session(app):
    browser, elsewhere = login(app, "staff_ch"), login(app, "staff_ch")
    old_sid = browser.cookies.get("qms_session")
    response = browser.post("/account/password", data={"csrf_token": csrf_of(browser),
                            "current": PASSWORD, "password": "Changed-2026", "password2": "Changed-2026"})  # fmt: skip
    assert (response.status_code, response.headers["location"]) == (303, "/account/password?done=1")
    new_sid = browser.cookies.get("qms_session")
    assert new_sid != old_sid
    page = browser.get("/account/password?done=1")
    assert page.status_code == 200 and "密码已修改。" in page.text
    assert browser.post("/logout", data={"csrf_token": csrf_of(browser)}).status_code == 303
    assert elsewhere.get("/forms/").status_code == 303
    stolen = TestClient(app, follow_redirects=False, cookies={"qms_session": old_sid})
    assert stolen.get("/forms/").status_code == 303
    fresh = TestClient(app, follow_redirects=False)
    assert try_login(fresh, "staff_ch", PASSWORD).status_code == 401
    assert try_login(fresh, "staff_ch", "Changed-2026").status_code == 303


def test_a_password_reset_by_the_admin_ends_the_users_sessions(app, clients):
    victim = login(app, "worker_ch")
    admin = clients["admin"]
    response = admin.post("/admin/users", data={"csrf_token": csrf_of(admin, "/admin/users"),
                          "action": "update", "username": "worker_ch", "role": "staff", "project": "CH",
                          "team": "工程维修班", "active": "1", "password": "Reset-2026x"})  # fmt: skip
    assert response.status_code == 200 and "已更新用户 worker_ch" in response.text
    assert victim.get("/forms/").status_code == 303
    assert (
        try_login(TestClient(app, follow_redirects=False), "worker_ch", "Reset-2026x").status_code
        == 303
    )


# Throttling ------------------------------------------------------------------------------


def test_unknown_users_and_wrong_passwords_get_the_same_answer(app):
    client = TestClient(app, follow_redirects=False)
    unknown = try_login(client, "nobody", "Secret-2026")
    wrong = try_login(client, "staff_ch", "Wrong-2026")
    assert (unknown.status_code, wrong.status_code) == (401, 401)
    assert error_of(unknown) == error_of(wrong) == "用户名或密码不正确"
    assert unknown.text.replace('value="nobody"', "") == wrong.text.replace('value="staff_ch"', "")


def test_one_address_trying_many_accounts_is_paused(app):
    client = TestClient(app, follow_redirects=False)
    for name in ("admin", "quality", "auditor", "nobody", "root"):
        assert try_login(client, name, "guess-123").status_code == 401
    blocked = try_login(client, "staff_jj", PASSWORD)  # right password, never failed before
    assert blocked.status_code == 429
    assert error_of(blocked) == "登录失败次数过多，请 15 分钟后再试"
    assert "qms_session" not in set_cookies(blocked)
    assert app.state.store.count("sessions") == 0


def test_the_pause_follows_the_settings_and_ends(env, password_hash):
    app = app_with(env, password_hash, login_attempts=2, login_lockout_minutes=3)
    now = [1000.0]
    app.state.throttle.clock = lambda: now[0]  # the pause is measured on a monotonic clock
    with TestClient(app, follow_redirects=False) as client:
        assert try_login(client, "quality", "nope-1").status_code == 401
        assert try_login(client, "quality", "nope-2").status_code == 401
        blocked = try_login(client, "quality", PASSWORD)
        assert blocked.status_code == 429
        assert error_of(blocked) == "登录失败次数过多，请 3 分钟后再试"
        now[0] += 60
        assert (
            error_of(try_login(client, "quality", PASSWORD)) == "登录失败次数过多，请 2 分钟后再试"
        )
        now[0] += 120
        assert try_login(client, "quality", PASSWORD).status_code == 303


def test_a_deactivated_account_cannot_log_in_and_failures_count(app, clients):
    store = app.state.store
    store.update_user("staff_jj", {"active": False}, by="test")
    client = TestClient(app, follow_redirects=False)
    for _ in range(5):
        response = try_login(client, "staff_jj", PASSWORD)
        assert (response.status_code, error_of(response)) == (401, "用户名或密码不正确")
    assert try_login(client, "staff_jj", PASSWORD).status_code == 429


def test_the_throttle_forgets_what_it_no_longer_needs():
    """Memory stays bounded: a paused address trying one name after another adds nothing, and
    failures older than the pause are dropped (the failures are kept in ``_failures``)."""
    now = [0.0]
    throttle = Throttle(2, 60, clock=lambda: now[0])
    throttle.fail("user:a", "ip:1")
    throttle.fail("user:b", "ip:1")
    for n in range(1000):
        assert throttle.wait(f"user:{n}", "ip:1") == 60
    assert sorted(throttle._failures) == ["ip:1", "user:a", "user:b"]
    now[0] = 60.0
    assert throttle.wait("user:a", "ip:1") == 0
    assert list(throttle._failures) == ["user:b"]  # not looked at since, still there
    assert throttle.wait("user:b") == 0
    assert throttle._failures == {}


# Redirects after login --------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
     "javascript:alert(1)", "http:/evil.example", "", "forms/"],
)  # fmt: skip
def test_login_never_redirects_off_site(app, target):
    client = TestClient(app, follow_redirects=False)
    response = try_login(client, "staff_ch", PASSWORD, next=target)
    assert (response.status_code, response.headers["location"]) == (303, "/forms/")
    again = client.get("/login", params={"next": target})
    assert again.headers["location"] == "/forms/"


@pytest.mark.parametrize("target", ["/submissions/?form=QR-10-99", "/\t/evil.example"])
def test_local_targets_stay_local_paths(app, target):
    client = TestClient(app, follow_redirects=False)
    location = try_login(client, "staff_ch", PASSWORD, next=target).headers["location"]
    parts = urllib.parse.urlsplit(location)
    assert (parts.scheme, parts.netloc) == ("", "")
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "\t" not in location


# Passwords -------------------------------------------------------------------------------


def test_passwords_appear_in_no_log_and_no_file(env, caplog):
    """Every way a password enters the system: first start, login (right and wrong), a new
    user, a change, a reset. None is logged or written in clear; each is stored argon2id."""
    first, wrong, created, changed, reset = (
        "First-Admin-2026",
        "Wrong-Guess-2026",
        "New-User-2026x",
        "Changed-Pass-2026",
        "Reset-Pass-2026",
    )
    caplog.set_level(logging.DEBUG)
    app = env.app()
    with TestClient(app, follow_redirects=False) as browser:
        code = (env.settings.data_dir / "setup-code.txt").read_text(encoding="utf-8").strip()
        token = csrf_of(browser, "/setup")
        assert browser.post("/setup", data={"csrf_token": token, "code": code, "username": "boss",
                            "password": first, "password2": first}).status_code == 303  # fmt: skip
        assert try_login(TestClient(app), "boss", wrong).status_code == 401
        admin = login(app, "boss", first)
        created_page = admin.post("/admin/users", data={"csrf_token": csrf_of(admin, "/admin/users"),
                                  "action": "create", "username": "li", "role": "quality",
                                  "password": created, "password2": created})  # fmt: skip
        assert created_page.status_code == 200
        li = login(app, "li", created)
        assert li.post("/account/password", data={"csrf_token": csrf_of(li), "current": created,
                       "password": changed, "password2": changed}).status_code == 303  # fmt: skip
        assert admin.post("/admin/users", data={"csrf_token": csrf_of(admin, "/admin/users"),
                          "action": "update", "username": "li", "role": "quality", "active": "1",
                          "password": reset}).status_code == 200  # fmt: skip
        login(app, "li", reset)
        store = app.state.store
        users = {u["username"]: u for u in store.list_users()}
        history = [e for e in store.search("history") if e["table"] == "users"]
    secrets = (first, wrong, created, changed, reset)
    assert "首次启动" in caplog.text  # the capture works: the first-start notice is there
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert [s for s in secrets if s in logged] == []
    files = [p for p in env.settings.data_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"qms.json"}  # the store was closed and compacted
    assert [(p.name, s) for p in files for s in secrets if s.encode() in p.read_bytes()] == []
    hasher = PasswordHasher()
    for name, password in (("boss", first), ("li", reset)):
        assert users[name]["password_hash"].startswith("$argon2id$")
        assert hasher.verify(users[name]["password_hash"], password)
    changes = [e["changes"]["password_hash"] for e in history if "password_hash" in e["changes"]]
    assert changes == [["***", "***"], ["***", "***"]]  # li's change, the reset
