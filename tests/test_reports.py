"""Reports over a known dataset: exact numbers in JSON, CSV and the Excel workbook.

The dataset (October 2026), loaded through the API and the web pages:

* 翠湖花园 (CH): two assessors score 97 and 94 → 95.50 (+10%). Their four
  nonconformities become notices due 10-17; the re-inspection on 10-18 passes
  three and re-issues one (due 10-21), which passes on 10-22: 5 due, 4 passed →
  exactly 80% → B by rate; 0 serious and 5 general notices → A by count → **B**.
* 锦江华府 (JJ): 90 and 89 → 89.50 (no change); one serious and two general
  notices, never re-inspected → 0% → **C**.
* 东区分公司 (CH + JJ): (95.50 + 89.50) / 2 = 92.50 → +5%; 1 serious, 7 general,
  8 due, 4 passed (50%) → **C**.
* Complaints at CH: one urgent resolved on time and visited 满意, one resolved
  after 80 hours (late, 72 allowed) and visited 基本满意, one still open and overdue.
* Satisfaction survey at CH: 7 满意, 2 基本满意, 1 不满意 → 90.0%.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import yaml
from openpyxl import load_workbook
from starlette.testclient import TestClient

from tests.conftest import TZ, add_users, bearer, csrf_of, login, make_env, number_of

ASSESSMENT = (
    """
code: QR-10-98
title: 测试稽查检查表
version: A/0
status: 受控
owner: 品质管理部
prepared_by: 陈晓东
reviewed_by: 张慧敏
approved_by: 张慧敏
effective: 2026-03-01
review_due: 2027-03-01
revisions:
  - {version: A/0, date: 2026-02-20, summary: 首次发布, approved_by: 张慧敏}
procedure: QP-10
rectification: 管理处
fields:
  - {key: project, label: 管理处, type: project, required: true}
  - {key: check_date, label: 考核日期, type: date, required: true}
  - {key: batch, label: 考核批次, type: choice, options: [上半年稽查, 下半年稽查, 分公司月度考核], required: true}
  - {key: assessor, label: 考核人, type: signature, required: true}
sections:
  - key: all
    title: 考核
    items:
"""
    + "".join(
        f"      - {{key: {k}, text: 项目{k}, mode: deduct, points: 20, per: 1}}\n" for k in "abcde"
    )
    + """
scoring:
  total: 100
  na: exclude
  bands: [{grade: 优秀, min: 95}, {grade: 良好, min: 90}, {grade: 合格, min: 80}, {grade: 基本合格, min: 75}, {grade: 不合格, min: 0}]
"""
)

SURVEY = """
code: QR-13-98
title: 测试满意度调查表
version: A/0
status: 受控
owner: 品质管理部
prepared_by: 陈晓东
reviewed_by: 张慧敏
approved_by: 张慧敏
effective: 2026-03-01
review_due: 2027-03-01
revisions:
  - {version: A/0, date: 2026-02-20, summary: 首次发布, approved_by: 张慧敏}
procedure: QP-13
fields:
  - {key: project, label: 管理处, type: project, required: true}
  - {key: survey_date, label: 调查日期, type: date, required: true}
  - {key: overall, label: 总体评价, type: choice, options: [满意, 基本满意, 不满意], required: true}
"""


def at(env, text: str) -> None:
    env.clock.now = dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from forms_server.auth import hash_password

    env = make_env(tmp_path_factory.mktemp("reports"))
    (env.settings.forms_dir / "QR-10-98.yml").write_text(ASSESSMENT, encoding="utf-8")
    (env.settings.forms_dir / "QR-13-98.yml").write_text(SURVEY, encoding="utf-8")
    config = yaml.safe_load(env.settings.config_file.read_text(encoding="utf-8"))
    config["reports"].update(assessment_form="QR-10-98", satisfaction_form="QR-13-98")
    config["grading"]["counted_forms"] = ["QR-10-98"]
    env.settings.config_file.write_text(
        yaml.safe_dump(config, allow_unicode=True), encoding="utf-8"
    )
    store = env.open_store()
    add_users(store, hash_password("Secret-2026"))
    app = env.app(store)
    with TestClient(app):
        token = store.create_token("quality", "测试", by="test")[0]
        api = TestClient(app)

        def assess(project, day, assessor, counts, serious=()):
            at(env, f"{day}T10:00:00")
            items = {
                k: {"count": counts.get(k, 0), **({"severity": "严重"} if k in serious else {})}
                for k in "abcde"
            }
            body = {
                "fields": {
                    "project": project,
                    "check_date": day,
                    "batch": "分公司月度考核",
                    "assessor": assessor,
                },
                "items": items,
            }
            response = api.post("/api/forms/QR-10-98/submissions", json=body, headers=bearer(token))
            assert response.status_code == 201, response.text
            return response.json()["number"]

        first = assess("CH", "2026-10-10", "张三", {"a": 3})
        second = assess("CH", "2026-10-10", "李四", {"a": 1, "b": 2, "c": 3})
        assess("JJ", "2026-10-10", "王五", {"a": 10})
        assess("JJ", "2026-10-10", "赵六", {"a": 5, "b": 6}, serious=("a",))

        quality = login(app, "quality")

        def reinspect(source, results):
            form = quality.get(f"/submissions/{source}/reinspect").text
            numbers = re.findall(r'name="r\.(QR-10-20-[\d-]+)"', form)
            data = {"csrf_token": csrf_of(quality, f"/submissions/{source}/reinspect")}
            for number, result in zip(dict.fromkeys(numbers), results, strict=True):
                data[f"r.{number}"] = result
            assert quality.post(f"/submissions/{source}/reinspect", data=data).status_code == 303

        at(env, "2026-10-18T15:00:00")
        reinspect(first, ["合格"])
        reinspect(second, ["合格", "合格", "不合格"])
        at(env, "2026-10-22T15:00:00")
        reinspect(second, ["合格"])

        service, worker = login(app, "staff_ch"), login(app, "worker_ch")

        def complaint(received, urgency, category, steps):
            at(env, received)
            data = {"f.project": "CH", "f.received_date": received[:10], "f.received_time": received[11:16], "f.owner_name": "业主",
                    "f.room": "1-1-101", "f.phone": "13800138000", "f.category": category, "f.urgency": urgency, "f.content": "内容",
                    "csrf_token": csrf_of(service, "/forms/QR-12-99/new")}  # fmt: skip
            number = number_of(service.post("/forms/QR-12-99/new", data=data))
            for when, client, action, extra in steps:
                at(env, when)
                page = f"/complaints/{number}"
                response = client.post(
                    page, data={"action": action, "csrf_token": csrf_of(client, page), **extra}
                )
                assert response.status_code == 303, response.text

        complaint("2026-10-05T09:00:00", "紧急", "维修不及时", [
            ("2026-10-05T09:05:00", service, "dispatch", {"team": "工程维修班"}),
            ("2026-10-05T09:10:00", worker, "start", {}),
            ("2026-10-05T11:00:00", worker, "resolve", {"note": "修好"}),
            ("2026-10-06T10:00:00", service, "visit", {"satisfaction": "满意", "method": "电话"}),
            ("2026-10-06T10:05:00", service, "close", {}),
        ])  # fmt: skip
        complaint("2026-10-06T09:00:00", "一般", "维修不及时", [
            ("2026-10-06T09:20:00", service, "dispatch", {"team": "工程维修班"}),
            ("2026-10-06T10:00:00", worker, "start", {}),
            ("2026-10-09T17:00:00", worker, "resolve", {"note": "等配件"}),
            ("2026-10-10T09:00:00", service, "visit", {"satisfaction": "基本满意", "method": "电话"}),
            ("2026-10-10T09:05:00", service, "close", {}),
        ])  # fmt: skip
        complaint(
            "2026-10-20T09:00:00",
            "一般",
            "环境卫生",
            [("2026-10-20T09:10:00", service, "dispatch", {"team": "保洁绿化班"})],
        )

        for answer in ["满意"] * 7 + ["基本满意"] * 2 + ["不满意"]:
            at(env, "2026-10-15T10:00:00")
            body = {"fields": {"project": "CH", "survey_date": "2026-10-15", "overall": answer}}
            assert (
                api.post(
                    "/api/forms/QR-13-98/submissions", json=body, headers=bearer(token)
                ).status_code
                == 201
            )

        at(env, "2026-11-03T09:00:00")
        yield {"api": api, "token": token, "app": app, "staff": login(app, "staff_jj")}


def report(dataset, kind, **params):
    response = dataset["api"].get(
        f"/api/reports/{kind}", params=params, headers=bearer(dataset["token"])
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_monthly_report_of_a_project(dataset):
    r = report(dataset, "monthly", month="2026-10", unit="CH")
    assert (r["title"], r["due"], r["as_of"]) == (
        "翠湖花园管理处2026-10月度质量报告",
        "2026-11-05",
        "2026-11-03",
    )
    ch = r["projects"][0]
    assert ch["assessment"] == {
        "batch": "分公司月度考核",
        "assessors": [{"assessor": "张三", "score": 97, "number": "QR-10-98-20261010-0001", "batch": "分公司月度考核"},
                      {"assessor": "李四", "score": 94, "number": "QR-10-98-20261010-0002", "batch": "分公司月度考核"}],
        "score": 95.5,
        "pay_adjustment": 10,
    }  # fmt: skip
    assert (ch["serious"], ch["general"], ch["due"], ch["passed"], ch["rate"]) == (0, 5, 5, 4, 80.0)
    assert (ch["grade_by_count"], ch["grade_by_rate"], ch["grade"], ch["quality_score"]) == (
        "A",
        "B",
        "B",
        60,
    )
    assert len(ch["reissued"]) == 1


def test_monthly_report_of_a_branch(dataset):
    r = report(dataset, "monthly", month="2026-10", unit="EAST")
    assert [p["project"] for p in r["projects"]] == ["CH", "JJ"]
    jj = r["projects"][1]
    assert (jj["assessment"]["score"], jj["assessment"]["pay_adjustment"]) == (89.5, 0)
    assert (jj["serious"], jj["general"], jj["due"], jj["passed"], jj["rate"], jj["grade"]) == (
        1,
        2,
        3,
        0,
        0.0,
        "C",
    )
    assert (r["unit_score"], r["unit_pay_adjustment"]) == (92.5, 5)
    totals = r["totals"]
    assert (
        totals["serious"],
        totals["general"],
        totals["due"],
        totals["passed"],
        totals["rate"],
        totals["grade"],
    ) == (1, 7, 8, 4, 50.0, "C")
    assert [s["project"] for s in r["serious_items"]] == ["JJ"]


def test_complaint_report(dataset):
    r = report(dataset, "complaints", **{"from": "2026-10", "to": "2026-10", "unit": "CH"})
    assert r["pareto"] == [
        {"category": "维修不及时", "count": 2, "cumulative": 66.7},
        {"category": "环境卫生", "count": 1, "cumulative": 100.0},
    ]
    assert r["kpis"] == {"received": 3, "valid": 3, "closed": 2, "closure_rate": 66.7, "on_time_rate": 50.0, "visit_rate": 100.0,
                         "satisfaction_rate": 100.0, "overdue": 1}  # fmt: skip
    assert r["by_urgency"] == {"一般": 2, "紧急": 1}


def test_objectives_against_targets(dataset):
    r = report(dataset, "objectives", **{"from": "2026-09", "to": "2026-10", "unit": "ALL"})
    rows = {o["key"]: o for o in r["objectives"]}
    assert (rows["satisfaction"]["values"], rows["satisfaction"]["met"]) == (
        [None, 90.0],
        [None, True],
    )
    assert (rows["complaint_on_time"]["values"], rows["complaint_on_time"]["met"]) == (
        [None, 50.0],
        [None, False],
    )
    assert (rows["complaint_visit"]["values"], rows["complaint_visit"]["met"]) == (
        [None, 100.0],
        [None, True],
    )
    assert (rows["rectification"]["values"], rows["rectification"]["met"]) == (
        [None, 50.0],
        [None, False],
    )
    assert rows["turnover"]["values"] is None and rows["turnover"]["source"].startswith("人工统计")


def test_inspection_trend(dataset):
    r = report(dataset, "inspections", **{"from": "2026-10", "to": "2026-10", "unit": "EAST"})
    assert r["trend"] == {"CH": [95.5], "JJ": [89.5]}


def test_csv_export(dataset):
    response = dataset["api"].get("/reports/monthly", params={"month": "2026-10", "unit": "EAST", "format": "csv"},
                                  headers=bearer(dataset["token"]))  # fmt: skip
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["东区分公司 2026年10月项目考核评分汇总表"]
    assert rows[1] == ["管理处", "考核批次", "考核人及得分", "管理处得分", "负责人工资浮动"]
    assert rows[2] == ["翠湖花园管理处", "分公司月度考核", "张三 97、李四 94", "95.5", "上浮 10%"]
    assert rows[3] == ["锦江华府管理处", "分公司月度考核", "王五 90、赵六 89", "89.5", "不浮动"]
    grades = rows[rows.index(["东区分公司 2026年10月月度质量考核等级评定表"]) + 2 :][:2]
    assert grades == [
        ["翠湖花园管理处", "0", "5", "80%", "A", "B", "B", "60", ""],
        ["锦江华府管理处", "1", "2", "0%", "B", "C", "C", "0", ""],
    ]


def test_excel_workbook_laid_out_like_the_paper_tables(dataset):
    response = dataset["api"].get("/reports/monthly", params={"month": "2026-10", "unit": "EAST", "format": "xlsx"},
                                  headers=bearer(dataset["token"]))  # fmt: skip
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["2026年10月项目考核评分汇总表", "2026年10月物业管理质量检查报告", "2026年10月不合格项整改情况表",
                               "2026年10月月度质量考核等级评定表"]  # fmt: skip
    sheet = book["2026年10月项目考核评分汇总表"]
    assert sheet["A1"].value == "东区分公司 2026年10月项目考核评分汇总表"
    assert "A1:E1" in {str(r) for r in sheet.merged_cells.ranges}
    assert [c.value for c in sheet[3]] == [
        "管理处",
        "考核批次",
        "考核人及得分",
        "管理处得分",
        "负责人工资浮动",
    ]
    assert [c.value for c in sheet[4]] == [
        "翠湖花园管理处",
        "分公司月度考核",
        "张三 97、李四 94",
        95.5,
        "上浮 10%",
    ]
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$3:$3"
    rectification = book["2026年10月不合格项整改情况表"]
    assert [c.value for c in rectification[4]] == ["翠湖花园管理处", 5, 5, 4, "80%", 0, 1]


def test_html_report_with_chart_and_due_date(dataset):
    client = login(dataset["app"], "quality")
    page = client.get("/reports/monthly?month=2026-10&unit=EAST").text
    assert "<dt>报送期限</dt><dd>2026-11-05 前</dd>" in page
    # One bar per 管理处 of the 分公司: its rectification pass rate (CH: 4 of 5 → 80%).
    assert 'aria-label="2026-10 各管理处不合格项整改合格率"' in page
    assert "<title>翠湖花园管理处：80%</title>" in page
    complaints = client.get("/reports/complaints?from=2026-10&to=2026-10&unit=CH").text
    assert '<svg class="chart"' in complaints and "<title>维修不及时：2 件</title>" in complaints
    assert "<dt>结案率</dt><dd>66.7%</dd>" in complaints
    # No complaints at JJ: no rate, and no stray percent sign.
    none = client.get("/reports/complaints?from=2026-10&to=2026-10&unit=JJ").text
    assert "<dt>结案率</dt><dd>—</dd>" in none and "<dt>回访率</dt><dd>—</dd>" in none


def test_reports_respect_project_scoping(dataset):
    staff = dataset["staff"]  # a 锦江华府 employee
    assert staff.get("/reports/monthly?month=2026-10&unit=CH").status_code == 403
    assert staff.get("/reports/monthly?month=2026-10&unit=EAST").status_code == 403
    own = staff.get("/reports/monthly?month=2026-10").text
    assert "锦江华府管理处2026-10月度质量报告" in own and "翠湖花园" not in own.split("<main>")[1]


def test_staff_of_a_project_no_longer_configured_see_the_reports_page(dataset, password_hash):
    store = dataset["app"].state.store
    store.add_user({"username": "staff_gone", "display_name": "staff_gone", "role": "staff", "project": "GONE",
                    "team": None, "active": True, "password_hash": password_hash}, by="test")  # fmt: skip
    client = login(dataset["app"], "staff_gone")
    page = client.get("/reports/")
    assert page.status_code == 200
    assert set(re.findall(r'<option value="([^"]+)">', page.text)) == {"GONE"}
    response = client.get("/reports/monthly?month=2026-10", headers={"Accept": "application/json"})
    assert response.status_code == 422 and "GONE" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("params", "path"),
    [({"month": "2026-13"}, "month"), ({"unit": "XX"}, "unit"), ({"format": "pdf"}, "format")],
)
def test_bad_report_parameters(dataset, params, path):
    response = dataset["api"].get(
        "/reports/monthly",
        params=params,
        headers={**bearer(dataset["token"]), "Accept": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == path


def test_assessment_form_lists_reissued_notices_to_deduct(dataset):
    client = login(dataset["app"], "quality")
    page = client.get("/forms/QR-10-98/new").text
    assert "上次考核后再次通知的整改项" in page
    assert "翠湖花园管理处：1 项" in page and '<a href="/notices/QR-10-20-20261018-0001">' in page


class Reads:
    """A store that notes which of its reads a report makes."""

    def __init__(self, store):
        self.store, self.reads = store, []

    def __getattr__(self, name):
        found = getattr(self.store, name)
        if name not in (
            "find",
            "find_submissions",
            "search",
            "report_submissions",
            "report_notices",
        ):
            return found

        def read(*args, **kwargs):
            self.reads.append(f"{name} {args[0]}" if name == "find" else name)
            return found(*args, **kwargs)

        return read


#: What each report reads: never a full copy of a table it does not use.
READS = {
    "monthly": ["report_submissions", "report_notices"],
    "complaints": ["find complaints"],
    "inspections": ["report_submissions"],
    "objectives": ["report_submissions", "report_notices", "find complaints"],
}


def test_reports_read_only_what_they_need(tmp_path):
    """The store's index reads (`report_submissions`, `report_notices` with
    `reports.monthly_notices`) give the same reports as every record of the units,
    for every unit and month of a demo year, after re-inspections changed notices."""
    import types

    from forms_server import config, demo, report_views, reports
    from forms_server.definitions import load_dir
    from forms_server.settings import PROJECT_DIR
    from forms_server.store import Store

    now = dt.datetime(2026, 11, 21, 9, 0, tzinfo=TZ)
    company = config.load(PROJECT_DIR / "data" / "qms.yml")
    forms = load_dir(PROJECT_DIR / "data" / "forms", PROJECT_DIR).forms
    months = ["2026-08", "2026-09", "2026-10", "2026-11"]
    with Store(tmp_path / "db", demo.Clock(now)) as store:
        demo.run(types.SimpleNamespace(store=store, forms=forms, company=company), months=4)
        units = [list(company.projects), *([p] for p in company.projects)]
        units += [company.projects_of_branch(b) for b in company.branches]
        assert store.count("reinspections") and store.find("notices", status="已关闭")
        for projects in units:
            for month in months:
                first, last = f"{month}-01", f"{month}-31"
                everything = reports.monthly(
                    "X", projects, month,
                    store.find_submissions(projects=projects, date_from=first, date_to=last),
                    store.find("notices", projects), now.date(), company,
                )  # fmt: skip
                narrowed = reports.monthly(
                    "X", projects, month, store.report_submissions(projects, [month]),
                    store.report_notices(projects, reports.monthly_notices(month, company)),
                    now.date(), company,
                )  # fmt: skip
                assert narrowed == everything
                assert [s["number"] for s in store.report_submissions(projects, [month])] == [
                    s["number"] for s in store.find_submissions(projects=projects, date_from=first, date_to=last)
                ]  # fmt: skip
        # Every report as the report pages compute it, against the same report over every record.
        state = types.SimpleNamespace(store=Reads(store), forms=forms, company=company)
        for projects in units:
            submissions = store.find_submissions(
                projects=projects, date_from="2026-08-01", date_to="2026-11-30"
            )
            items, notices = store.find("complaints", projects), store.find("notices", projects)
            expected = {
                "monthly": reports.monthly("X", projects, "2026-11", submissions, notices, now.date(), company),
                "complaints": reports.complaint_report(items, months, now),
                "inspections": reports.inspection_report(submissions, months, projects, company),
                "objectives": reports.objectives(submissions, items, notices, months, now.date(), now, company),
            }  # fmt: skip
            for kind, reads in READS.items():
                state.store.reads.clear()
                period = months[-1:] if kind == "monthly" else months
                report = report_views.compute(state, kind, ("X", "单位", projects), period)[0]
                assert state.store.reads == reads
                assert {k: v for k, v in report.items() if k not in ("unit", "unit_name")} == {
                    k: v for k, v in expected[kind].items() if k != "unit"
                }
