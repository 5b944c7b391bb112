"""Read-and-acknowledge: confirming the current revision, out-of-date confirmations, the matrix."""

from __future__ import annotations

import io
import json
import os
import re

import openpyxl
import pytest

from tests.conftest import bearer, csrf_of
from tests.test_api import check

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def doc(code, version="A/0", status="受控", type_="程序文件", effective="2026-03-01", title=None):
    return {"code": code, "title": title or f"{code} 测试程序", "version": version, "status": status,
            "owner": "品质管理部", "type": type_, "src": f"procedures/{code.lower()}.md",
            "effective": effective, "review_due": "2027-03-01", "revisions": []}  # fmt: skip


def publish(env, documents, edition=None, commit=COMMIT):
    """What a build of the manual leaves for the server: site/qms-catalog.json."""
    path = env.settings.site_dir / "qms-catalog.json"
    stamp = path.stat().st_mtime_ns + 1_000_000 if path.exists() else None
    data = {"edition": edition, "commit": commit, "documents": documents}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    if stamp:  # a rebuild within the same clock tick still counts as a new build
        os.utime(path, ns=(stamp, stamp))


MANUAL = [
    doc("QM-01", type_="质量手册", title="质量手册 总则"),
    doc("QP-01", title="文件控制程序"),
    doc("QP-02", status="作废"),
    doc("QP-03", effective="2026-12-01"),  # 待生效
    doc("QP-04", status="草稿", effective=None),
    doc("QR-01-01", type_="记录表格"),
]


@pytest.fixture
def manual(env):
    publish(env, MANUAL, edition="2026.1")
    return env


def confirm(client, code="QP-01", version="A/0", csrf=True, **extra):
    headers = {"X-CSRF-Token": csrf_of(client)} if csrf else {}
    return client.post("/api/acknowledgements", json={"code": code, "version": version, **extra},
                       headers=headers)  # fmt: skip


def test_a_reader_confirms_the_current_revision_once(manual, clients):
    staff = clients["staff_ch"]
    before = check(staff.get("/api/acknowledgements/mine"), 200, "MyDocuments")
    assert [(i["code"], i["state"], i["url"]) for i in before["items"]] == [
        ("QM-01", "未确认", "/procedures/qm-01/"),
        ("QP-01", "未确认", "/procedures/qp-01/"),
    ]  # obsolete, pending, draft documents and record forms are not confirmed
    record = check(confirm(staff, edition="2026.1", commit=COMMIT[:12]), 201, "Acknowledgement")
    assert record == {"username": "staff_ch", "code": "QP-01", "version": "A/0", "edition": "2026.1",
                      "commit": COMMIT[:12], "at": "2026-11-21T09:30:00+08:00"}  # fmt: skip
    assert confirm(staff).json() == record  # a second click changes nothing
    mine = staff.get("/api/acknowledgements/mine?code=QP-01").json()["items"]
    assert [(i["code"], i["state"], i["acknowledged"]["version"]) for i in mine] == [
        ("QP-01", "已确认", "A/0")
    ]


def test_without_page_details_the_published_edition_is_recorded(manual, clients):
    record = confirm(clients["quality"]).json()
    assert (record["edition"], record["commit"]) == ("2026.1", COMMIT)


def test_session_posts_need_the_csrf_header(manual, clients):
    refused = confirm(clients["staff_ch"], csrf=False)
    check(refused, 403, "Problem")
    assert "CSRF" in refused.json()["detail"]
    assert clients["staff_ch"].get("/api/me").json()["csrf_token"] == csrf_of(clients["staff_ch"])


def test_token_clients_confirm_without_csrf(manual, app, tokens):
    from starlette.testclient import TestClient

    api = TestClient(app)
    response = api.post("/api/acknowledgements", json={"code": "QM-01", "version": "A/0"},
                        headers=bearer(tokens["worker_ch"]))  # fmt: skip
    check(response, 201, "Acknowledgement")


def test_a_new_revision_makes_earlier_confirmations_out_of_date(manual, env, clients):
    staff = clients["staff_ch"]
    confirm(staff)
    publish(env, [doc("QM-01", type_="质量手册"), doc("QP-01", version="A/1")], edition="2026.2")
    item = staff.get("/api/acknowledgements/mine?code=QP-01").json()["items"][0]
    assert (item["version"], item["state"], item["acknowledged"]["version"]) == (
        "A/1",
        "旧版已确认",
        "A/0",
    )
    stale = confirm(staff, version="A/0")
    check(stale, 409, "Problem")
    assert (
        stale.json()["detail"]
        == "QP-01 的现行版本是 A/1，您阅读的是 A/0。请打开现行版本阅读后再确认。"
    )
    assert confirm(staff, version="A/1").status_code == 201
    assert (
        staff.get("/api/acknowledgements/mine?code=QP-01").json()["items"][0]["state"] == "已确认"
    )


def test_documents_not_in_force_cannot_be_confirmed(manual, clients):
    for code in ("QP-02", "QP-03", "QP-04", "QR-01-01", "QP-99"):
        response = confirm(clients["staff_ch"], code=code)
        check(response, 404, "Problem")
        assert response.json()["detail"].startswith(f"没有现行有效的文件 {code}")


def test_bad_confirmations_name_the_field(manual, clients):
    response = confirm(clients["staff_ch"], code="", version=3, edition="../x", commit="zz")
    body = check(response, 422, "Problem")
    assert {e["path"] for e in body["errors"]} == {"code", "version", "edition", "commit"}
    raw = clients["staff_ch"].post("/api/acknowledgements", content=b"[1]",
                                   headers={"X-CSRF-Token": csrf_of(clients["staff_ch"]),
                                            "Content-Type": "application/json"})  # fmt: skip
    assert raw.status_code == 422


def test_auditors_and_administrators_do_not_confirm(manual, clients):
    for name in ("auditor", "admin"):
        assert confirm(clients[name]).status_code == 403
        assert clients[name].get("/api/acknowledgements/mine").status_code == 403


def test_the_html_page_confirms_without_script(manual, clients):
    staff = clients["worker_ch"]
    page = staff.get("/acknowledgements/mine")
    assert "现行文件 2 份，待确认 2 份" in page.text
    done = staff.post("/acknowledgements/mine",
                      data={"code": "QP-01", "version": "A/0", "csrf_token": csrf_of(staff)})  # fmt: skip
    assert done.status_code == 200
    assert "已确认阅读 QP-01（A/0）" in done.text and "待确认 1 份" in done.text
    stale = staff.post("/acknowledgements/mine",
                       data={"code": "QP-01", "version": "A/9", "csrf_token": csrf_of(staff)})  # fmt: skip
    assert stale.status_code == 409 and "现行版本是 A/0" in stale.text
    obsolete = staff.post("/acknowledgements/mine",
                          data={"code": "QP-02", "version": "A/0", "csrf_token": csrf_of(staff)})  # fmt: skip
    assert obsolete.status_code == 404 and "没有现行有效的文件 QP-02" in obsolete.text


def test_matrix_shows_who_is_missing(manual, env, clients):
    confirm(clients["staff_ch"])
    confirm(clients["staff_ch"], code="QM-01")
    confirm(clients["worker_ch"])
    publish(env, [doc("QM-01", type_="质量手册"), doc("QP-01", version="A/1")])
    body = check(clients["auditor"].get("/api/acknowledgements"), 200, "AcknowledgementMatrix")
    assert [d["code"] for d in body["documents"]] == ["QM-01", "QP-01"]
    cells = {
        r["username"]: {c: v["state"] for c, v in r["documents"].items()} for r in body["readers"]
    }
    assert cells == {
        "quality": {"QM-01": "未确认", "QP-01": "未确认"},
        "staff_ch": {"QM-01": "已确认", "QP-01": "旧版已确认"},
        "staff_jj": {"QM-01": "未确认", "QP-01": "未确认"},
        "worker_ch": {"QM-01": "未确认", "QP-01": "旧版已确认"},
    }  # auditors and administrators are not expected readers
    ch = clients["quality"].get("/api/acknowledgements?project=CH&team=工程维修班").json()
    assert [r["username"] for r in ch["readers"]] == ["worker_ch"]
    page = clients["quality"].get("/acknowledgements/?type=质量手册")
    assert page.status_code == 200
    cells = [re.sub(r"\s+", " ", c) for c in re.findall(r"<td>([^<]*)</td>", page.text)]
    assert cells[:6] == [
        "QM-01 QM-01 测试程序",
        "A/0",
        "1 / 4",
        "0",
        "3",
        "quality、staff_jj、worker_ch",
    ]


def test_matrix_filters_are_checked_and_staff_cannot_see_it(manual, clients):
    assert clients["staff_ch"].get("/acknowledgements/").status_code == 403
    assert clients["staff_ch"].get("/api/acknowledgements").status_code == 403
    body = check(
        clients["quality"].get("/api/acknowledgements?project=XX&type=表格&state=all"),
        422,
        "Problem",
    )
    assert {e["path"] for e in body["errors"]} == {"project", "type", "state"}


def test_matrix_exports_one_line_per_reader_and_document(manual, clients):
    confirm(clients["staff_ch"], edition="2026.1", commit=COMMIT)
    csv_text = (
        clients["quality"]
        .get("/acknowledgements/?project=CH&format=csv")
        .content.decode("utf-8-sig")
    )
    lines = csv_text.splitlines()
    assert lines[0] == "文件阅读确认矩阵"
    assert lines[1].startswith("用户名,姓名,管理处,班组/部门,文件编号")
    assert lines[2:6] == [
        "staff_ch,staff_ch,翠湖花园管理处,客户服务中心,QM-01,质量手册 总则,A/0,未确认,,,,",
        "staff_ch,staff_ch,翠湖花园管理处,客户服务中心,QP-01,文件控制程序,A/0,已确认,A/0,2026-11-21 09:30,2026.1,0123456789ab",
        "worker_ch,worker_ch,翠湖花园管理处,工程维修班,QM-01,质量手册 总则,A/0,未确认,,,,",
        "worker_ch,worker_ch,翠湖花园管理处,工程维修班,QP-01,文件控制程序,A/0,未确认,,,,",
    ]
    xlsx = clients["auditor"].get("/acknowledgements/?state=missing&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["A1"].value == "文件阅读确认矩阵" and sheet["H3"].value == "确认状态"
    assert (
        sheet.max_row == 3 + 4 * 2 + 2
    )  # title, note, header, 4 readers x 2 documents, gap, signature


def test_without_a_built_catalog_nothing_is_due(env, clients):
    assert clients["staff_ch"].get("/api/acknowledgements/mine").json()["items"] == []


def test_controlled_pages_carry_the_confirmation_box(real_site):
    assert real_site.ok, real_site.output
    page = real_site.page("procedures/qp-01.md")
    box = re.search(r'<div class="qms-ack" data-code="QP-01" data-version="(A/\d+)" data-edition="" '
                    r'data-commit="([0-9a-f]{40})?"[^>]*hidden>', page)  # fmt: skip
    assert box, "confirmation box missing on QP-01"
    catalog = json.loads((real_site.site / "qms-catalog.json").read_text("utf-8"))
    versions = {d["code"]: d["version"] for d in catalog["documents"]}
    assert versions["QP-01"] == box.group(1)
    assert 'class="qms-ack"' not in real_site.page("records/qr-01-01.md")
