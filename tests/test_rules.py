"""The seeds' rules as pure functions: grades, pay bands, rectification, complaint lifecycle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from forms_server import complaints, config, grading, rectification
from tests.sitekit import ROOT

COMPANY = config.load(Path(ROOT / "data" / "qms.yml"))
TZ = dt.timezone(dt.timedelta(hours=8))


# Monthly grade (QP-11 §4.2) --------------------------------------------------------


@pytest.mark.parametrize(
    ("serious", "general", "grade"),
    [
        pytest.param(0, 0, "A", id="none"),
        pytest.param(0, 5, "A", id="five-general-is-few"),
        pytest.param(0, 6, "B", id="six-general-is-not-few"),
        pytest.param(1, 0, "B", id="one-serious"),
        pytest.param(2, 9, "B", id="two-serious"),
        pytest.param(3, 0, "C", id="three-serious"),
        pytest.param(4, 0, "C", id="four-serious"),
    ],
)
def test_grade_by_count(serious, general, grade):
    assert grading.grade_by_count(serious, general) == grade


@pytest.mark.parametrize(
    ("passed", "due", "grade"),
    [
        pytest.param(59, 100, "C", id="59%"),
        pytest.param(3, 5, "B", id="exactly-60%"),
        pytest.param(61, 100, "B", id="61%"),
        pytest.param(79, 100, "B", id="79%"),
        pytest.param(8, 10, "B", id="exactly-80%"),
        pytest.param(81, 101, "A", id="80.2%"),
        pytest.param(4, 4, "A", id="100%"),
        pytest.param(0, 1, "C", id="0%"),
    ],
)
def test_grade_by_rectification_rate(passed, due, grade):
    assert grading.grade_by_rate(Fraction(passed, due)) == grade


def test_nothing_due_counts_as_full_rate():
    assert grading.grade_by_rate(None) == "A"


@pytest.mark.parametrize(
    ("serious", "general", "rate", "grade", "score"),
    [
        pytest.param(0, 2, Fraction(8, 10), "B", 60, id="count-A-rate-B"),
        pytest.param(1, 0, Fraction(9, 10), "B", 60, id="count-B-rate-A"),
        pytest.param(3, 1, Fraction(1), "C", 0, id="count-C-rate-A"),
        pytest.param(1, 2, Fraction(5, 9), "C", 0, id="count-B-rate-C"),
        pytest.param(0, 4, None, "A", 100, id="both-A"),
    ],
)
def test_the_worse_rule_wins(serious, general, rate, grade, score):
    result = grading.monthly_grade(serious, general, rate)
    assert (result.grade, result.score) == (grade, score)


def test_consecutive_months():
    grades = {
        "2026-01": "A",
        "2026-02": "A",
        "2026-03": "A",
        "2026-04": "A",
        "2026-05": "C",
        "2026-06": "C",
    }
    assert grading.consecutive_flags(grades) == {
        "2026-02": "110%",
        "2026-04": "110%",
        "2026-06": "管理者代表处理",
    }


def test_consecutive_means_adjacent_calendar_months():
    assert grading.consecutive_flags({"2026-01": "A", "2026-03": "A"}) == {}
    assert grading.consecutive_flags({"2025-12": "C", "2026-01": "C"}) == {
        "2026-01": "管理者代表处理"
    }
    assert grading.consecutive_flags({"2026-01": "A", "2026-02": "B", "2026-03": "A"}) == {}


@pytest.mark.parametrize(
    ("score", "change"),
    [
        (100, 10),
        (95, 10),
        (Decimal("94.99"), 5),
        (90, 5),
        (Decimal("89.99"), 0),
        (80, 0),
        (Decimal("79.99"), -5),
        (75, -5),
        (Decimal("74.99"), -10),
        (0, -10),
    ],  # fmt: skip
)
def test_pay_bands_follow_the_seed_boundaries(score, change):
    assert grading.pay_adjustment(score) == change


def test_project_score_is_the_assessors_average_and_branch_the_projects_average():
    project = grading.average([92.5, 88, 90.25])
    assert project == Decimal("90.25")
    assert grading.average([project, Decimal("95.50")]) == Decimal("92.88")  # 92.875 rounds half up
    assert grading.average([]) is None


# Rectification (QP-10 §4.8) -------------------------------------------------------------


def inspection(*severities: str) -> dict:
    return {
        "number": "QR-10-16-20261105-0001",
        "form": "QR-10-16",
        "form_title": "项目绩效考核稽查检查表",
        "project": "CH",
        "submitted_by": "zhang",
        "score": {
            "nonconformities": [
                {
                    "item": f"i{n}",
                    "text": f"项目{n}",
                    "section": "环境",
                    "severity": s,
                    "note": "",
                    "location": "",
                    "photos": [],
                }
                for n, s in enumerate(severities, start=1)
            ]
        },
    }


def numbered(notices, start=1):
    return [
        {**n, "number": f"QR-10-20-20261105-{i:04d}"} for i, n in enumerate(notices, start=start)
    ]


def test_each_nonconformity_becomes_a_notice_due_in_seven_days():
    notices = rectification.notices_for(
        inspection("一般", "严重"), "管理处", dt.date(2026, 11, 5), COMPANY
    )
    assert [(n["item"], n["severity"], n["deadline"], n["status"]) for n in notices] == [
        ("i1", "一般", "2026-11-12", "待整改"),
        ("i2", "严重", "2026-11-12", "待整改"),
    ]
    assert notices[0]["source"] == "QR-10-16-20261105-0001" and notices[0]["department"] == "管理处"


def test_reinspection_closes_or_reissues_each_open_notice():
    open_notices = numbered(
        rectification.notices_for(
            inspection("一般", "严重"), "管理处", dt.date(2026, 11, 5), COMPANY
        )
    )
    results = {
        open_notices[0]["number"]: {"result": "合格"},
        open_notices[1]["number"]: {"result": "不合格", "note": "仍堵塞"},
    }
    updated, reissued, errors = rectification.reinspect(
        open_notices, results, dt.date(2026, 11, 13), "zhang", COMPANY
    )
    assert errors == {}
    assert [(n["status"], n["result"]) for n in updated] == [
        ("已关闭", "合格"),
        ("复查不合格", "不合格"),
    ]
    assert len(reissued) == 1
    again = reissued[0]
    assert (again["round"], again["previous"], again["deadline"]) == (
        2,
        open_notices[1]["number"],
        "2026-11-16",
    )
    assert again["reissued"] and again["notify_company"] and again["deduct_next"]
    assert again["source"] == "QR-10-16-20261105-0001"


def test_reinspection_must_rate_exactly_the_open_notices():
    open_notices = numbered(
        rectification.notices_for(inspection("一般"), "管理处", dt.date(2026, 11, 5), COMPANY)
    )
    _, _, errors = rectification.reinspect(
        open_notices, {"QR-10-20-X": {"result": "合格"}}, dt.date(2026, 11, 13), "z", COMPANY
    )
    assert errors == {
        "QR-10-20-X": "整改通知书 QR-10-20-X 不是本次检查尚未关闭的不合格项",
        open_notices[0]["number"]: "项目1：请复查评定合格或不合格",
    }


def test_rectification_rate_counts_notices_due_in_the_month():
    base = {"status": "已关闭"}
    notices = [
        {**base, "deadline": "2026-11-10", "result": "合格"},
        {**base, "deadline": "2026-11-20", "result": "合格"},
        {**base, "deadline": "2026-11-25", "result": "不合格"},
        {"status": "待整改", "deadline": "2026-11-28", "result": None},  # overdue, not rectified
        {"status": "待整改", "deadline": "2026-12-02", "result": None},  # due next month
    ]
    assert rectification.rate(notices, "2026-11", dt.date(2026, 12, 5)) == (4, 2, Fraction(1, 2))
    # Mid-month only what is already due counts.
    assert rectification.rate(notices, "2026-11", dt.date(2026, 11, 21)) == (2, 2, Fraction(1))
    assert rectification.rate(notices, "2026-10", dt.date(2026, 12, 5)) == (0, 0, None)


# Complaint lifecycle (QP-12) -----------------------------------------------------------

SERVICE = complaints.Actor("liu", "staff", "CH", "客户服务中心")
WORKER = complaints.Actor("wang", "staff", "CH", "工程维修班")
OUTSIDER = complaints.Actor("zhao", "staff", "JJ", "客户服务中心")
START = dt.datetime(2026, 11, 21, 9, 0, tzinfo=TZ)


def complaint(urgency="紧急"):
    submission = {
        "number": "QR-12-01-20261121-0001",
        "project": "CH",
        "submitted_by": "liu",
        "submitted_at": START.isoformat(),
        "values": {
            "category": "维修不及时",
            "urgency": urgency,
            "received_date": "2026-11-21",
            "received_time": "08:50",
            "owner_name": "王女士",
            "room": "3-2-801",
            "phone": "13812341234",
            "content": "卫生间漏水",
        },
    }
    return complaints.open_complaint(submission, COMPANY)


def step(c, key, actor, minutes, **data):
    new, errors = complaints.apply(
        c, key, actor, data, START + dt.timedelta(minutes=minutes), COMPANY
    )
    assert errors == {}, errors
    return new


def test_deadlines_follow_urgency_from_the_received_time():
    urgent, normal = complaint("紧急"), complaint("一般")
    assert urgent["received_at"] == "2026-11-21T08:50:00+08:00"
    assert (urgent["rounds"][0]["response_due"], urgent["rounds"][0]["resolve_due"]) == (
        "2026-11-21T09:20:00+08:00", "2026-11-22T08:50:00+08:00")  # fmt: skip
    assert (normal["rounds"][0]["response_due"], normal["rounds"][0]["resolve_due"]) == (
        "2026-11-21T10:50:00+08:00", "2026-11-24T08:50:00+08:00")  # fmt: skip


def test_full_lifecycle_with_every_deadline_shown():
    c = step(complaint(), "dispatch", SERVICE, 3, team="工程维修班", handler="王师傅")
    c = step(c, "start", WORKER, 15)
    c = step(c, "resolve", WORKER, 120, note="更换角阀")
    c = step(c, "visit", SERVICE, 600, satisfaction="满意", method="电话")
    c = step(c, "close", SERVICE, 610)
    assert c["state"] == "关闭" and c["satisfaction"] == "满意"
    assert [entry["to"] for entry in c["log"]] == [
        "受理",
        "派工",
        "处理中",
        "已办结",
        "已回访",
        "关闭",
    ]
    assert [(d.name, d.status) for d in complaints.deadlines(c, START + dt.timedelta(days=3))] == [
        ("响应", "按时完成"), ("办结", "按时完成"), ("回访", "按时完成")
    ]  # fmt: skip
    assert complaints.on_time(c) is True


def test_unsatisfied_visit_reopens_with_a_new_round_of_deadlines():
    c = step(complaint(), "dispatch", SERVICE, 3, team="工程维修班")
    c = step(c, "start", WORKER, 15)
    c = step(c, "resolve", WORKER, 120, note="处理完毕")
    c = step(c, "visit", SERVICE, 600, satisfaction="不满意", method="上门", note="仍有渗水")
    assert c["state"] == "处理中" and len(c["rounds"]) == 2
    assert c["rounds"][1]["resolve_due"] == (START + dt.timedelta(minutes=600 + 1440)).isoformat()
    assert c["log"][-1]["action"] == "回访（不满意）→退回重新处理"
    shown = complaints.deadlines(c, START + dt.timedelta(minutes=700))
    assert [(d.round, d.name, d.status) for d in shown] == [
        (1, "响应", "按时完成"), (1, "办结", "按时完成"), (1, "回访", "按时完成"), (2, "响应", "按时完成"), (2, "办结", "未到期"),
    ]  # fmt: skip
    reassigned = step(
        step(step(c, "resolve", WORKER, 700, note="返修"), "visit", SERVICE, 800, satisfaction="不满意", method="上门",
             team="秩序维护班"),
        "dispatch", SERVICE, 805, team="秩序维护班")  # fmt: skip
    assert reassigned["state"] == "派工" and reassigned["team"] == "秩序维护班"


@pytest.mark.parametrize(
    ("state_steps", "key", "actor", "data", "message"),
    [
        pytest.param(
            [],
            "resolve",
            WORKER,
            {"note": "x"},
            "当前状态为“受理”，不能执行“办结”（只能在处理中状态下执行）",
            id="skip-steps",
        ),
        pytest.param(
            [],
            "dispatch",
            WORKER,
            {"team": "工程维修班"},
            "只有客户服务中心可以派工",
            id="team-cannot-dispatch",
        ),
        pytest.param(
            [],
            "dispatch",
            OUTSIDER,
            {"team": "工程维修班"},
            "只能处理本管理处的投诉",
            id="other-project",
        ),
        pytest.param(
            [],
            "dispatch",
            complaints.Actor("a", "auditor", None, None),
            {},
            "“派工”需要管理处员工或品质管理角色",
            id="auditor",
        ),
        pytest.param(
            [],
            "dispatch",
            SERVICE,
            {"team": "园林队"},
            "请选择责任班组（客户服务中心、秩序维护班、工程维修班、保洁绿化班）",
            id="bad-team",
        ),
        pytest.param(
            [], "reject", SERVICE, {}, "“非有效投诉关闭”须填写说明", id="reject-needs-reason"
        ),
    ],
)
def test_illegal_actions_are_refused_with_a_reason(state_steps, key, actor, data, message):
    new, errors = complaints.apply(complaint(), key, actor, data, START, COMPANY)
    assert new is None
    assert message in errors.values()


def test_resolver_does_not_visit_their_own_work():
    c = step(complaint(), "dispatch", SERVICE, 3, team="客户服务中心")
    c = step(c, "start", SERVICE, 5)
    c = step(c, "resolve", SERVICE, 30, note="已解释")
    new, errors = complaints.apply(
        c,
        "visit",
        SERVICE,
        {"satisfaction": "满意", "method": "电话"},
        START + dt.timedelta(hours=2),
        COMPANY,
    )
    assert errors == {"action": "回访不能由处理人自己进行"}


def test_unreachable_owner_closes_only_after_seven_days():
    c = step(
        step(step(complaint(), "dispatch", SERVICE, 3, team="工程维修班"), "start", WORKER, 10),
        "resolve",
        WORKER,
        60,
        note="修好",
    )
    _, errors = complaints.apply(
        c, "unreachable", SERVICE, {"note": "电话无人接"}, START + dt.timedelta(days=6), COMPANY
    )
    assert errors == {"action": "办结后满 7 天仍联系不上业主才能按无法回访关闭"}
    closed = step(c, "unreachable", SERVICE, 60 + 7 * 24 * 60, note="7 天多次联系未接通")
    assert closed["state"] == "关闭" and closed["close_reason"].startswith("无法回访")
    assert [d.status for d in complaints.deadlines(closed, START + dt.timedelta(days=8))][
        -1
    ] == "未完成（已结案）"


def test_overdue_is_any_missed_open_deadline():
    c = complaint("紧急")
    # Received 08:50: an urgent complaint must be responded to by 09:20.
    assert not complaints.is_overdue(c, START + dt.timedelta(minutes=20))
    assert complaints.is_overdue(c, START + dt.timedelta(minutes=21))
    assert complaints.on_time(c) is None
