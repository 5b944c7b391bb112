"""The closed loops through HTTP: complaint lifecycle and the rectification loop."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_of, login, number_of
from tests.test_app import submit, texts

INTAKE = {
    "f.project": "CH",
    "f.received_date": "2026-11-21",
    "f.received_time": "09:10",
    "f.owner_name": "王女士",
    "f.room": "3-2-801",
    "f.phone": "13812341234",
    "f.category": "维修不及时",
    "f.urgency": "紧急",
    "f.content": "卫生间漏水两天未修",
}
NUMBER = "QR-12-99-20261121-0001"


def register_complaint(client, **changes) -> str:
    data = {**INTAKE, **changes, "csrf_token": csrf_of(client, "/forms/QR-12-99/new")}
    response = client.post("/forms/QR-12-99/new", data=data)
    assert response.status_code == 303, response.text
    return number_of(response)


def act(client, action: str, number: str = NUMBER, **data):
    return client.post(
        f"/complaints/{number}",
        data={"action": action, "csrf_token": csrf_of(client, f"/complaints/{number}"), **data},
    )


def field_errors(html: str) -> list[str]:
    block = re.search(r'<div class="notice error" role="alert"><ul>(.*?)</ul>', html, re.S)
    return re.findall(r"<li>([^<]+)</li>", block.group(1)) if block else []


def deadline_rows(html: str) -> list[tuple[str, ...]]:
    table = html[html.index("全部时限") : html.index("</table>", html.index("全部时限"))]
    return [
        tuple(re.findall(r"<td>([^<]*)</td>", row))
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]
    ]


# Complaints ----------------------------------------------------------------------


def test_registering_a_complaint_opens_it_with_its_deadlines(clients, app):
    assert register_complaint(clients["staff_ch"]) == NUMBER
    complaint = app.state.store.get("complaints", NUMBER)
    assert complaint["state"] == "受理"
    page = clients["staff_ch"].get(f"/complaints/{NUMBER}").text
    # Received 09:10 (the test clock stands at 09:30); urgent: respond in 30 minutes, resolve in 24 hours.
    assert deadline_rows(page) == [
        ("第 1 轮", "响应", "2026-11-21 09:40", "", "未到期"),
        ("第 1 轮", "办结", "2026-11-22 09:10", "", "未到期"),
    ]


def test_a_complaint_received_later_than_now_is_refused_and_nothing_is_stored(clients, app):
    client = clients["staff_ch"]
    data = {**INTAKE, "f.received_time": "09:41", "f.content": "电梯异响（时间填错）"}
    response = client.post(
        "/forms/QR-12-99/new", data={**data, "csrf_token": csrf_of(client, "/forms/QR-12-99/new")}
    )
    assert response.status_code == 422
    assert texts(response.text, "field-error") == ["受理时间：不能晚于现在（09:30）"]
    assert "电梯异响（时间填错）" in response.text  # what was typed is kept
    assert app.state.store.find("complaints") == []
    assert app.state.store.find("submissions") == []


def test_the_full_lifecycle_through_http(clients, app, env):
    service, worker, store = clients["staff_ch"], clients["worker_ch"], app.state.store
    register_complaint(service)
    assert act(service, "dispatch", team="工程维修班", handler="王师傅").status_code == 303
    env.clock.advance(minutes=5)
    assert act(worker, "start").status_code == 303
    env.clock.advance(hours=3)
    assert act(worker, "resolve", note="更换角阀,已试水").status_code == 303
    env.clock.advance(hours=20)
    assert act(service, "visit", satisfaction="满意", method="电话").status_code == 303
    assert act(service, "close").status_code == 303
    complaint = store.get("complaints", NUMBER)
    assert [e["to"] for e in complaint["log"]] == [
        "受理",
        "派工",
        "处理中",
        "已办结",
        "已回访",
        "关闭",
    ]
    assert [e["by"] for e in complaint["log"]] == [
        "staff_ch",
        "staff_ch",
        "worker_ch",
        "worker_ch",
        "staff_ch",
        "staff_ch",
    ]
    page = service.get(f"/complaints/{NUMBER}").text
    assert [row[1:] for row in deadline_rows(page)] == [
        ("响应", "2026-11-21 09:40", "2026-11-21 09:35", "按时完成"),
        ("办结", "2026-11-22 09:10", "2026-11-21 12:35", "按时完成"),
        ("回访", "2026-11-23 12:35", "2026-11-22 08:35", "按时完成"),
    ]
    history = store.history_of("complaints", store.search("complaints")[0]["id"])
    assert [e["action"] for e in history] == ["create", "派工", "接单处理", "办结", "回访", "关闭"]


def test_illegal_transitions_are_refused_and_nothing_changes(clients, app):
    register_complaint(clients["staff_ch"])
    early = act(clients["worker_ch"], "resolve", note="已处理")
    assert early.status_code == 422
    assert field_errors(early.text) == [
        "当前状态为“受理”，不能执行“办结”（只能在处理中状态下执行）"
    ]
    wrong_team = act(clients["worker_ch"], "dispatch", team="工程维修班")
    assert field_errors(wrong_team.text) == ["只有客户服务中心可以派工"]
    other_project = clients["staff_jj"].post(f"/complaints/{NUMBER}", data={"action": "dispatch"})
    assert other_project.status_code == 404
    auditor = act(clients["auditor"], "dispatch", team="工程维修班")
    assert auditor.status_code == 403 and "审核员角色不能办理投诉" in auditor.text
    assert app.state.store.get("complaints", NUMBER)["state"] == "受理"
    assert len(app.state.store.get("complaints", NUMBER)["log"]) == 1


def test_unsatisfied_return_visit_reopens_the_complaint(clients, app, env):
    service, worker = clients["staff_ch"], clients["worker_ch"]
    register_complaint(service)
    act(service, "dispatch", team="工程维修班")
    act(worker, "start")
    act(worker, "resolve", note="处理完毕")
    env.clock.advance(hours=2)
    response = act(service, "visit", satisfaction="不满意", method="上门", note="仍有渗水")
    assert response.status_code == 303
    complaint = app.state.store.get("complaints", NUMBER)
    assert complaint["state"] == "处理中" and len(complaint["rounds"]) == 2
    page = service.get(f"/complaints/{NUMBER}").text
    rows = deadline_rows(page)
    assert [(r[0], r[1]) for r in rows] == [
        ("第 1 轮", "响应"),
        ("第 1 轮", "办结"),
        ("第 1 轮", "回访"),
        ("第 2 轮", "响应"),
        ("第 2 轮", "办结"),
    ]
    assert rows[-1][2] == "2026-11-22 11:30"  # a new 24 hours from the unsatisfied visit at 11:30


def test_overdue_queue_and_masked_phones(clients, app, env):
    register_complaint(clients["staff_ch"])
    register_complaint(clients["staff_ch"], **{"f.urgency": "一般"})
    assert (
        "QR-12-99"
        not in re.sub(
            r"<form.*?</form>",
            "",
            clients["quality"].get("/complaints/?overdue=1").text,
            flags=re.S,
        ).split("<tbody>")[1]
    )
    env.clock.advance(minutes=15)  # 09:45: the urgent one has missed its 09:40 response
    queue = clients["quality"].get("/complaints/?overdue=1").text
    assert "QR-12-99-20261121-0001" in queue and "QR-12-99-20261121-0002" not in queue
    assert "13812341234" in clients["staff_ch"].get(f"/complaints/{NUMBER}").text
    auditor_view = clients["auditor"].get(f"/complaints/{NUMBER}").text
    assert "138****1234" in auditor_view and "13812341234" not in auditor_view
    assert "<h2>办理</h2>" not in auditor_view  # read-only


# Rectification -----------------------------------------------------------------------


def two_failures(client):
    return submit(
        client,
        **{
            "i.a1.result": "不合格",
            "i.a3.count": "0",
            "i.b1.result": "不合格",
            "i.b1.note": "夜班保安睡岗",
        },
    )


def test_failed_items_create_notices_linked_to_the_inspection(clients, app):
    inspection = number_of(two_failures(clients["staff_ch"]))
    notices = app.state.store.derived_of(inspection)["notices"]
    assert [
        (n["number"], n["item"], n["severity"], n["deadline"], n["department"], n["status"])
        for n in notices
    ] == [
        ("QR-10-20-20261121-0001", "a1", "一般", "2026-11-28", "保洁绿化班", "待整改"),
        ("QR-10-20-20261121-0002", "b1", "严重", "2026-11-28", "保洁绿化班", "待整改"),
    ]
    page = clients["staff_ch"].get(f"/submissions/{inspection}").text
    assert (
        '<a href="/notices/QR-10-20-20261121-0001">' in page
        and f'href="/submissions/{inspection}/reinspect"' in page
    )
    notice_page = clients["staff_ch"].get("/notices/QR-10-20-20261121-0002").text
    assert f'<a href="/submissions/{inspection}">{inspection}</a>' in notice_page
    assert "夜班保安睡岗" in notice_page


def test_reinspection_rates_only_open_items_and_reissues_failures(clients, app, env):
    inspection = number_of(two_failures(clients["staff_ch"]))
    env.clock.advance(days=7)
    client = clients["quality"]
    form = client.get(f"/submissions/{inspection}/reinspect").text
    assert form.count('name="r.QR-10-20-') == 4  # two open notices × 合格/不合格
    response = client.post(
        f"/submissions/{inspection}/reinspect",
        data={"csrf_token": csrf_of(client, f"/submissions/{inspection}/reinspect"),
              "r.QR-10-20-20261121-0001": "合格", "r.QR-10-20-20261121-0002": "不合格", "n.QR-10-20-20261121-0002": "仍有睡岗"},
    )  # fmt: skip
    assert response.status_code == 303
    record = number_of(response)
    assert record == "FC-20261128-0001"
    store = app.state.store
    first, second, again = (
        store.get("notices", f"QR-10-20-2026112{d}-000{i}") for d, i in ((1, 1), (1, 2), (8, 1))
    )
    assert (first["status"], first["reinspection"]) == ("已关闭", record)
    assert (second["status"], second["next"]) == ("复查不合格", again["number"])
    assert (again["status"], again["previous"], again["deadline"]) == (
        "待整改",
        second["number"],
        "2026-12-01",
    )
    assert again["reissued"] and again["notify_company"] and again["deduct_next"]
    # Links both ways, and only the re-issued notice is open for the next re-inspection.
    assert f'href="/notices/{again["number"]}"' in client.get(f"/reinspections/{record}").text
    assert f'href="/reinspections/{record}"' in client.get(f"/notices/{second['number']}").text
    assert client.get(f"/submissions/{inspection}/reinspect").text.count('name="r.QR-10-20-') == 2
    assert "再次通知" in client.get(f"/submissions/{inspection}").text


def test_reinspection_must_rate_every_open_item(clients, app):
    inspection = number_of(two_failures(clients["staff_ch"]))
    client = clients["staff_ch"]
    response = client.post(
        f"/submissions/{inspection}/reinspect",
        data={
            "csrf_token": csrf_of(client, f"/submissions/{inspection}/reinspect"),
            "r.QR-10-20-20261121-0001": "合格",
        },
    )
    assert response.status_code == 422
    assert "无睡岗：请复查评定合格或不合格" in response.text
    assert app.state.store.get("notices", "QR-10-20-20261121-0001")["status"] == "待整改"


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_read_only_roles_cannot_reinspect(clients, app, role):
    inspection = number_of(two_failures(clients["staff_ch"]))
    client = clients[role]
    response = client.post(
        f"/submissions/{inspection}/reinspect", data={"csrf_token": csrf_of(client, "/forms/")}
    )
    assert response.status_code == 403


def test_overdue_notices(clients, app, env):
    two_failures(clients["staff_ch"])
    env.clock.advance(days=8)
    assert (
        clients["quality"].get("/notices/?overdue=1").text.count('<a href="/notices/QR-10-20-') == 2
    )
    assert login(app, "staff_jj").get("/notices/").text.count('<a href="/notices/QR-10-20-') == 0


def test_deductions_count_from_the_latest_assessment_by_its_own_date():
    """An assessment entered late for an earlier date (listed first: newest entered first)
    does not bring back the re-issued notices the latest assessment already deducted."""
    from forms_server.rectification import to_deduct

    def notice(number, project, issued_on, reissued=True):
        return {"number": number, "project": project, "issued_on": issued_on, "reissued": reissued}

    assessments = [
        {"project": "CH", "record_date": "2026-09-25"},  # back-dated, entered last
        {"project": "CH", "record_date": "2026-10-25"},
        {"project": "JJ", "record_date": "2026-10-25"},
    ]
    notices = [
        notice("N5", "NS", "2026-10-02"),  # never assessed: every re-issued notice counts
        notice("N4", "JJ", "2026-10-01"),  # before JJ's assessment: deducted already
        notice("N3", "CH", "2026-10-28"),
        notice("N2", "CH", "2026-10-10"),  # deducted on 10-25
        notice("N1", "CH", "2026-10-30", reissued=False),
    ]
    found = to_deduct(assessments, notices, ["CH", "JJ", "NS"])
    assert {code: [n["number"] for n in flagged] for code, flagged in found.items()} == {
        "CH": ["N3"],
        "NS": ["N5"],
    }
