"""The audit trail: a record's history, chain verification (page and command), the evidence export."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile

import openpyxl
from starlette.testclient import TestClient

from tests.conftest import ROOT, app_with, bearer, login, number_of
from tests.test_acknowledgements import MANUAL, confirm, publish
from tests.test_api import check
from tests.test_workflows import NUMBER, act, register_complaint, two_failures


def history_rows(html: str) -> list[tuple[str, ...]]:
    """(序号, 时间, 操作人, 操作, 变更内容 as text) of each history row."""
    body = html[html.index("<tbody>") : html.rindex("</table></div>")]
    out = []
    for row in re.findall(r"<tr><td>(\d+)</td>(.*?)<td class=\"code\"", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>\s*(?=<td|$)", row[1].strip(), re.S)
        text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in cells]
        out.append((row[0], *text[:3], " ".join(text[3:])))
    return out


def test_a_complaints_history_shows_who_changed_what_in_order(clients, env):
    service, worker = clients["staff_ch"], clients["worker_ch"]
    register_complaint(service)
    act(service, "dispatch", team="工程维修班", handler="王师傅")
    env.clock.advance(minutes=5)
    act(worker, "start")
    page = clients["auditor"].get(f"/history/complaints/{NUMBER}")
    assert page.status_code == 200
    assert f'href="/complaints/{NUMBER}">返回投诉' in page.text
    rows = history_rows(page.text)
    assert [r[:4] for r in rows] == [
        (rows[0][0], "2026-11-21 09:30:00", "staff_ch", "创建"),
        (rows[1][0], "2026-11-21 09:30:00", "staff_ch", "派工"),
        (rows[2][0], "2026-11-21 09:35:00", "worker_ch", "接单处理"),
    ]
    assert rows[0][4] == "创建记录（内容见投诉页面）"
    assert "状态 受理 → 派工" in rows[1][4] and "班组 — → 工程维修班" in rows[1][4]
    assert "处理人 — → 王师傅" in rows[1][4]
    # The appended log entry, not the whole log again:
    assert (
        "处理过程第 2 项（新增） — → 操作：派工；原状态：受理；新状态：派工；操作人：staff_ch；"
        in rows[1][4]
    )
    assert "处理轮次第 1 项.响应时间 — → 2026-11-21T09:35:00+08:00" in rows[2][4]
    seqs = [int(r[0]) for r in rows]
    assert seqs == sorted(seqs)
    assert f'href="/history/complaints/{NUMBER}"' in service.get(f"/complaints/{NUMBER}").text


def test_history_is_scoped_like_the_record(clients):
    register_complaint(clients["staff_ch"])
    assert clients["staff_ch"].get(f"/history/complaints/{NUMBER}").status_code == 200
    # Another 管理处's record: the same answer as a record that does not exist.
    assert clients["staff_jj"].get(f"/history/complaints/{NUMBER}").status_code == 404
    assert clients["auditor"].get("/history/users/admin").status_code == 404
    assert clients["auditor"].get("/history/notices/QR-10-20-20990101-0001").status_code == 404


def test_history_of_a_notice_through_reinspection_and_as_json(clients, app, env, tokens):
    inspection = number_of(two_failures(clients["staff_ch"]))
    env.clock.advance(days=7)
    quality = clients["quality"]
    from tests.conftest import csrf_of

    quality.post(f"/submissions/{inspection}/reinspect",
                 data={"csrf_token": csrf_of(quality, f"/submissions/{inspection}/reinspect"),
                       "r.QR-10-20-20261121-0001": "合格", "r.QR-10-20-20261121-0002": "合格"})  # fmt: skip
    api = TestClient(app)
    body = check(api.get("/api/history/notices/QR-10-20-20261121-0001", headers=bearer(tokens["auditor"])),
                 200, "RecordHistory")  # fmt: skip
    assert [(e["action"], e["by"]) for e in body["entries"]] == [
        ("create", "staff_ch"),
        ("reinspect", "quality"),
    ]
    assert body["entries"][1]["changes"]["status"] == ["待整改", "已关闭"]
    csv_text = quality.get("/history/notices/QR-10-20-20261121-0001?format=csv").content.decode(
        "utf-8-sig"
    )
    assert "复查,状态,待整改,已关闭" in csv_text


def test_verification_page_reports_an_intact_chain(clients):
    register_complaint(clients["staff_ch"])
    page = clients["auditor"].get("/admin/audit?verify=1").text
    assert "变更历史完整" in page and re.search(
        r"链头哈希：<span class=\"code token\">[0-9a-f]{64}</span>", page
    )
    assert clients["staff_ch"].get("/admin/audit").status_code == 403


def populate(env, password_hash) -> None:
    """A stopped server's data directory: users, a complaint registered and dispatched."""
    app = app_with(env, password_hash)
    with TestClient(app):
        register_complaint(login(app, "staff_ch"))
        act(login(app, "staff_ch"), "dispatch", team="工程维修班", handler="王师傅")


def tamper(env, edit) -> dict:
    """Change qms.json by hand while the server is stopped."""
    path = env.settings.data_dir / "qms.json"
    data = json.loads(path.read_text("utf-8"))
    edit(data)
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return data


def test_a_hand_edited_history_entry_is_named_on_the_page(env, password_hash):
    def edit(data):
        entry = next(e for e in data["history"].values() if e["action"] == "派工")
        entry["by"] = "admin"  # someone pretends the administrator dispatched it
        edit.seq = entry["seq"]

    populate(env, password_hash)
    tamper(env, edit)
    app = env.app()
    with TestClient(app):
        page = login(app, "auditor").get("/admin/audit?verify=1").text
    assert f"第 {edit.seq} 条变更历史起不可信（complaints 第 1 号记录，{NUMBER}" in page
    assert "内容被改动" in page


def cli(env, *args, stdin=""):
    environment = {**os.environ, "QMS_DATA_DIR": str(env.settings.data_dir), "QMS_SITE_DIR": str(env.settings.site_dir),
                   "QMS_FORMS_DIR": str(env.settings.forms_dir), "QMS_CONFIG": str(env.settings.config_file)}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "forms_server", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env=environment, timeout=120)  # fmt: skip


def test_verify_command_exits_1_naming_the_first_broken_entry(env, password_hash):
    def edit(data):
        complaint = data["complaints"]["1"]
        complaint["handler"] = "李师傅"  # the record itself, changed without a history entry

    populate(env, password_hash)
    ok = cli(env, "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("变更历史完整：")
    data = tamper(env, edit)
    broken = cli(env, "verify")
    assert broken.returncode == 1
    last = max(e["seq"] for e in data["history"].values() if e["table"] == "complaints")
    assert f"第 {last} 条变更历史起不可信（complaints 第 1 号记录" in broken.stdout
    assert "记录被改动" in broken.stdout


def test_user_command_sets_team_and_checks_it(env):
    added = cli(env, "user", "add", "liu", "--role", "staff", "--project", "CH", "--team", "工程维修班",
                stdin="Secret-2026\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    changed = cli(env, "user", "set", "liu", "--team", "秩序维护班")
    assert changed.returncode == 0, changed.stderr
    wrong = cli(env, "user", "set", "liu", "--team", "不存在班")
    assert wrong.returncode == 1 and "班组 不存在班 不存在" in wrong.stderr
    store = env.open_store()
    assert store.get_user("liu")["team"] == "秩序维护班"
    store.close()


def test_evidence_zip_holds_the_period(clients, app, env):
    publish(env, MANUAL, edition="2026.1")
    register_complaint(clients["staff_ch"])
    two_failures(clients["staff_ch"])
    confirm(clients["staff_ch"])
    act(clients["staff_ch"], "dispatch", team="工程维修班", handler="王师傅")
    response = clients["auditor"].get("/admin/evidence?from=2026-11-01&to=2026-11-30")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(response.content))
    assert z.namelist() == [
        "说明.txt",
        "记录/QR-10-99 测试检查表.csv",
        "记录/QR-12-99 测试投诉登记表.csv",
        "投诉.csv",
        "整改通知书.csv",
        "复查记录.csv",
        "报表/2026-11 月度质量报告.xlsx",
        "报表/投诉统计报告.xlsx",
        "报表/检查得分趋势.xlsx",
        "报表/质量目标完成情况.xlsx",
        "文件阅读确认.xlsx",
        "变更历史.csv",
    ]
    readme = z.read("说明.txt").decode("utf-8")
    assert (
        "期间：2026-11-01 至 2026-11-30" in readme
        and "导出：2026-11-21T09:30:00+08:00，auditor（auditor）" in readme
    )
    entries = app.state.store.verify()["entries"]
    assert f"\n变更历史完整：共 {entries} 条变更历史，哈希链连续" in readme
    assert "手册版本：2026.1" in readme
    complaints = z.read("投诉.csv").decode("utf-8-sig").splitlines()
    assert len(complaints) == 2 and complaints[1].startswith(
        f"{NUMBER},翠湖花园管理处,维修不及时,紧急,王女士,3-2-801,138****1234,"
    )
    records = z.read("记录/QR-12-99 测试投诉登记表.csv").decode("utf-8-sig")
    assert "138****1234" in records and "13812341234" not in records
    assert len(z.read("整改通知书.csv").decode("utf-8-sig").splitlines()) == 3
    history = z.read("变更历史.csv").decode("utf-8-sig").splitlines()
    assert history[0] == "序号,时间,操作人,数据表,记录,操作,字段,原值,新值,本条哈希,上一条哈希"
    assert any(f",complaints,{NUMBER},创建," in line for line in history)
    assert any(f",complaints,{NUMBER},派工,班组,—,工程维修班," in line for line in history)
    matrix = openpyxl.load_workbook(io.BytesIO(z.read("文件阅读确认.xlsx"))).active
    assert [c.value for c in matrix[4]][:8] == [
        "quality",
        "quality",
        None,
        None,
        "QM-01",
        "质量手册 总则",
        "A/0",
        "未确认",
    ]


def test_evidence_period_is_checked(clients):
    response = clients["auditor"].get("/admin/evidence?from=2026-12-01&to=2026-11-01",
                                      headers={"Accept": "application/json"})  # fmt: skip
    assert response.status_code == 422
    assert response.json()["errors"] == [{"path": "from", "message": "起始日期不能晚于结束日期"}]
    compact = clients["auditor"].get("/admin/evidence?from=20261101&to=2026-11-30",
                                     headers={"Accept": "application/json"})  # fmt: skip
    assert compact.status_code == 422  # Python's date.fromisoformat would take it for 2026-11-01
    assert compact.json()["errors"] == [{"path": "from", "message": "from 应为日期，如 2026-11-01"}]
    assert (
        clients["auditor"].get("/admin/evidence?from=2024-01-01&to=2026-11-30").status_code == 422
    )
    assert (
        clients["staff_ch"].get("/admin/evidence?from=2026-11-01&to=2026-11-30").status_code == 403
    )


def test_evidence_command_writes_the_zip(env, password_hash, tmp_path):
    populate(env, password_hash)
    out = tmp_path / "证据.zip"
    done = cli(env, "evidence", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "变更历史完整" in done.stdout
    assert "投诉.csv" in zipfile.ZipFile(out).namelist()
    bad = cli(env, "evidence", "--from", "2026-11", "--to", "2026-11-30", "--out", str(out))
    assert bad.returncode == 1 and "--from：from 应为日期" in bad.stderr
    compact = cli(env, "evidence", "--from", "2026-11-01", "--to", "20261130", "--out", str(out))
    assert compact.returncode == 1 and "--to：to 应为日期，如 2026-11-01" in compact.stderr
