"""The forms server through HTTP: login, roles, scoping, CSRF, submissions, receipts, restart."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.conftest import PASSWORD, app_with, csrf_of, login, number_of

GOOD = {
    "f.project": "CH",
    "f.date": "2026-11-21",
    "f.inspector": "陈晓东",
    "i.a1.result": "不合格",
    "i.a1.note": "大堂东侧有污渍",
    "i.a2.result": "符合",
    "i.a3.count": "2",
    "i.a4.result": "合格",
    "i.a5.result": "合格",
    "i.b1.result": "合格",
    "i.b2.result": "合格",
}


def submit(client: TestClient, form: str = "QR-10-99", **changes):
    data = {**GOOD, **changes, "csrf_token": csrf_of(client, f"/forms/{form}/new")}
    return client.post(f"/forms/{form}/new", data={k: v for k, v in data.items() if v is not None})


def texts(html: str, css: str) -> list[str]:
    return re.findall(rf'class="{css}"[^>]*>([^<]+)', html)


# Login -----------------------------------------------------------------------


def test_everything_but_login_requires_authentication(app):
    anonymous = TestClient(app, follow_redirects=False)
    assert anonymous.get("/").headers["location"] == "/login?next=/"
    assert (
        anonymous.get("/procedures/qp-01/").headers["location"] == "/login?next=/procedures/qp-01/"
    )
    assert anonymous.get("/forms/").headers["location"] == "/login?next=/forms/"
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/healthz").json()["status"] == "ok"
    api = anonymous.get("/api/forms")
    assert api.status_code == 401
    assert api.json() == {"status": 401, "title": "请先登录", "detail": "请先登录"}


def test_login_sets_a_safe_session_cookie(app):
    client = login(app, "staff_ch")
    cookie = next(c for c in client.cookies.jar if c.name == "qms_session")
    fresh = TestClient(app, follow_redirects=False)
    token = csrf_of(fresh, "/login")
    response = fresh.post(
        "/login", data={"username": "staff_ch", "password": PASSWORD, "csrf_token": token}
    )
    set_cookie = [
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("qms_session=")
    ][0]
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie and "Secure" not in set_cookie
    assert cookie.value not in str(app.state.store.tables)  # stored hashed
    assert client.get("/").text == "<h1>手册首页</h1>"


def test_wrong_password_is_refused_in_chinese(app):
    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client, "/login")
    response = client.post(
        "/login", data={"username": "staff_ch", "password": "wrong", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.text


def test_login_is_throttled_after_repeated_failures(app):
    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client, "/login")
    for _ in range(5):
        assert (
            client.post(
                "/login", data={"username": "quality", "password": "x", "csrf_token": token}
            ).status_code
            == 401
        )
    blocked = client.post(
        "/login", data={"username": "quality", "password": PASSWORD, "csrf_token": token}
    )
    assert blocked.status_code == 429
    assert "登录失败次数过多，请 15 分钟后再试" in blocked.text


def test_login_form_requires_its_csrf_token(app):
    client = TestClient(app, follow_redirects=False)
    client.get("/login")
    response = client.post(
        "/login", data={"username": "staff_ch", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403


def test_logout_ends_the_session_everywhere(app):
    client = login(app, "staff_ch")
    sid = client.cookies.get("qms_session")
    response = client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert response.status_code == 303
    stolen = TestClient(app, follow_redirects=False, cookies={"qms_session": sid})
    assert stolen.get("/forms/").status_code == 303  # back to login: the session no longer exists


# CSRF ------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "forged"], ids=["missing", "wrong"])
def test_state_changing_forms_reject_missing_or_wrong_csrf(clients, app, token):
    client = clients["staff_ch"]
    data = dict(GOOD)
    if token:
        data["csrf_token"] = token
    response = client.post("/forms/QR-10-99/new", data=data)
    assert response.status_code == 403
    assert "CSRF 校验失败" in response.text
    assert app.state.store.count("submissions") == 0


# Submissions -----------------------------------------------------------------


def test_valid_submission_gives_a_receipt_with_number_and_score(clients, app):
    response = submit(clients["staff_ch"])
    assert response.status_code == 303
    number = "QR-10-99-20261121-0001"
    assert response.headers["location"] == f"/submissions/{number}?new=1"
    receipt = clients["staff_ch"].get(response.headers["location"])
    assert "提交成功。" in receipt.text
    # a1 fails (0 of 4), a3 has 2 × 0.2 off: 20 − 4 − 0.4 = 15.6
    assert (
        f'记录编号 <strong class="code">{number}</strong>，得分 <strong>15.6</strong>（合格）'
        in receipt.text
    )
    stored = app.state.store.get_submission(number)
    assert stored["form_version"] == "A/0"
    assert stored["project"] == "CH" and stored["submitted_by"] == "staff_ch"
    assert stored["score"]["general"] == 2


def test_the_record_date_picker_stops_at_today(clients):
    page = clients["staff_ch"].get("/forms/QR-10-99/new").text
    date_input = re.search(r'<input id="in-date"[^>]*>', page, re.S)[0]
    assert 'type="date"' in date_input and 'max="2026-11-21"' in date_input
    assert page.count(' max="2026-11-21"') == 1


def test_bad_fields_are_all_reported_and_nothing_is_stored(clients, app):
    response = submit(
        clients["staff_ch"],
        **{
            "f.date": "2026-02-30",
            "f.inspector": "",
            "f.phone": "12345",
            "i.a2.result": None,
            "i.a3.count": "-1",
        },
    )
    assert response.status_code == 422
    assert texts(response.text, "field-error") == [
        "检查日期：“2026-02-30”不是有效日期",
        "检查人：必须填写",
        "联系电话：号码格式不正确：手机为 11 位（1 开头），固话需带区号，如 0755-83001234",
        "电梯轿厢整洁：请评定此项",
        "垃圾桶无满溢：处数应为 0–999 的整数",
    ]
    assert "记录未保存：共 5 处需要修改。" in response.text
    # Everything typed is kept.
    assert 'value="12345"' in response.text and "大堂东侧有污渍" in response.text
    assert 'name="i.a1.result" value="不合格" checked' in response.text
    assert app.state.store.count("submissions") == 0


def test_receipt_numbers_count_up_per_form_and_day(clients, app):
    numbers = [number_of(submit(clients["staff_ch"])) for _ in range(3)]
    assert numbers == [f"QR-10-99-20261121-000{i}" for i in (1, 2, 3)]


def test_a_resubmitted_form_is_stored_once(clients, app):
    client = clients["staff_ch"]
    data = {**GOOD, "csrf_token": csrf_of(client, "/forms/QR-10-99/new"), "client_key": "form-123"}
    first = client.post("/forms/QR-10-99/new", data=data)
    second = client.post("/forms/QR-10-99/new", data=data)
    assert first.headers["location"] == second.headers["location"]
    assert app.state.store.count("submissions") == 1


def test_data_survives_a_restart(env, password_hash):
    app = app_with(env, password_hash)
    with TestClient(app):
        number = number_of(submit(login(app, "staff_ch")))
    again = env.app()
    with TestClient(again):
        client = login(again, "quality")
        page = client.get(f"/submissions/{number}")
        assert page.status_code == 200 and "15.6" in page.text


# Roles and scoping -----------------------------------------------------------


def test_staff_cannot_submit_for_another_project(clients, app):
    response = submit(clients["staff_ch"], **{"f.project": "JJ"})
    assert response.status_code == 422
    assert texts(response.text, "field-error") == [
        "管理处：您只能提交本管理处（翠湖花园管理处）的记录"
    ]


def test_staff_see_only_their_project(clients, app):
    ch = submit(clients["staff_ch"]).headers["location"].split("?")[0]
    jj = submit(clients["staff_jj"], **{"f.project": "JJ"}).headers["location"].split("?")[0]
    assert clients["staff_ch"].get(jj).status_code == 404
    assert clients["staff_jj"].get(ch).status_code == 404
    listing = clients["staff_ch"].get("/submissions/").text
    assert "QR-10-99-20261121-0001" in listing and "QR-10-99-20261121-0002" not in listing
    assert clients["staff_ch"].get("/submissions/?project=JJ").status_code == 403
    everything = clients["quality"].get("/submissions/").text
    assert "QR-10-99-20261121-0001" in everything and "QR-10-99-20261121-0002" in everything


def test_auditor_reads_everything_and_changes_nothing(clients, app):
    submit(clients["staff_ch"])
    auditor = clients["auditor"]
    assert auditor.get("/submissions/QR-10-99-20261121-0001").status_code == 200
    assert auditor.get("/forms/QR-10-99/new").status_code == 403
    data = {**GOOD, "csrf_token": csrf_of(auditor)}
    assert auditor.post("/forms/QR-10-99/new", data=data).status_code == 403
    assert auditor.get("/admin/users").status_code == 403


def test_phone_numbers_are_masked_for_roles_that_do_not_need_them(clients, app):
    data = {
        "f.project": "CH",
        "f.received_date": "2026-11-21",
        "f.received_time": "09:00",
        "f.owner_name": "王业主",
        "f.room": "3-2-801",
        "f.phone": "13812341234",
        "f.category": "环境卫生",
        "f.urgency": "一般",
        "f.content": "楼道有垃圾",
    }
    client = clients["staff_ch"]
    token = csrf_of(client, "/forms/QR-12-99/new")
    number = number_of(client.post("/forms/QR-12-99/new", data={**data, "csrf_token": token}))
    assert "13812341234" in client.get(f"/submissions/{number}").text
    assert "13812341234" in clients["quality"].get(f"/submissions/{number}").text
    for role in ("auditor", "admin"):
        page = clients[role].get(f"/submissions/{number}").text
        assert "138****1234" in page and "13812341234" not in page
        assert "13812341234" not in clients[role].get(
            "/submissions.csv?form=QR-12-99"
        ).content.decode("utf-8")


def test_only_admins_manage_users(clients, app):
    for role in ("staff_ch", "quality", "auditor"):
        assert clients[role].get("/admin/users").status_code == 403
    admin = clients["admin"]
    response = admin.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(admin, "/admin/users"),
            "action": "create",
            "username": "liu",
            "display_name": "刘芳",
            "role": "staff",
            "project": "NS",
            "password": "Chengzi-2026",
            "password2": "Chengzi-2026",
        },
    )
    assert response.status_code == 200 and "已创建用户 liu" in response.text
    assert login(app, "liu", "Chengzi-2026").get("/forms/").status_code == 200


# CSV -------------------------------------------------------------------------


def test_csv_export_uses_the_definition_columns_and_is_spreadsheet_safe(clients, app):
    submit(clients["staff_ch"], **{"f.remark": '=HYPERLINK("http://x")'})
    response = clients["quality"].get("/submissions.csv?form=QR-10-99")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith(
        "\ufeff记录编号,表格,版本,管理处,记录日期,提交人,提交时间,得分,等级,一般不合格,严重不合格,管理处,检查日期,检查人"
    )
    row = text.splitlines()[1]
    assert row.startswith(
        "QR-10-99-20261121-0001,QR-10-99,A/0,翠湖花园管理处,2026-11-21,staff_ch,2026-11-21T09:30:00+08:00,15.6,合格,2,0,CH"
    )
    assert "'=HYPERLINK" in row


# First start -------------------------------------------------------------------


def test_first_start_leads_to_a_first_admin(env):
    app = env.app()
    with TestClient(app, follow_redirects=False) as client:
        code_file = env.settings.data_dir / "setup-code.txt"
        code = code_file.read_text(encoding="utf-8").strip()
        assert oct(code_file.stat().st_mode & 0o777) == "0o600"
        page = client.get("/setup")
        assert code not in page.text  # the code is never shown, only where to find it
        token = csrf_of(client, "/setup")
        wrong = client.post(
            "/setup",
            data={
                "csrf_token": token,
                "code": "guess",
                "username": "boss",
                "password": "Admin-2026",
                "password2": "Admin-2026",
            },
        )
        assert wrong.status_code == 422 and "设置码不正确" in wrong.text
        done = client.post(
            "/setup",
            data={
                "csrf_token": token,
                "code": code,
                "username": "boss",
                "display_name": "王建国",
                "password": "Admin-2026",
                "password2": "Admin-2026",
            },
        )
        assert done.status_code == 303
        assert not code_file.exists()
        assert client.get("/setup").status_code == 404
        assert login(app, "boss", "Admin-2026").get("/admin/users").status_code == 200
