"""The pure document-control rules, without MkDocs."""

from __future__ import annotations

import datetime as dt

import pytest

from qms_site.doccontrol import Problem, check_catalog, parse_document, version_key
from tests.sitekit import front_matter

TODAY = dt.date(2026, 11, 21)


def parse(code: str = "QP-01", **fields):
    return parse_document("docs/x.md", front_matter(code, **fields))


def test_valid_metadata_gives_a_document_and_no_problem():
    doc, problems = parse(references=["QM-01"], records=["QR-01-01"])
    assert problems == []
    assert doc.code == "QP-01"
    assert doc.type_name == "程序文件"
    assert doc.effective == dt.date(2026, 3, 1)
    assert doc.latest.version == "A/0"
    assert doc.references == ["QM-01"] and doc.records == ["QR-01-01"]


@pytest.mark.parametrize(
    ("older", "newer"),
    [("A/0", "A/1"), ("A/9", "A/10"), ("A/12", "B/0"), ("B/3", "C/0")],
)
def test_version_order(older, newer):
    assert version_key(older) < version_key(newer)


def test_draft_needs_no_approval_fields():
    doc, problems = parse(
        status="草稿", reviewed_by=None, approved_by=None, effective=None, review_due=None
    )
    assert problems == []
    assert doc.status == "草稿"


def test_draft_may_carry_its_pending_revision_without_matching():
    _, problems = parse(status="草稿", version="A/1")
    assert problems == []


def test_malformed_code_gives_no_document():
    doc, problems = parse(code="QP-1")
    assert doc is None
    assert problems == [
        Problem(
            "docs/x.md", "code", "文件编号“QP-1”格式不正确，应如 QM-01、QP-07、WI-QP07-01、QR-07-01"
        )
    ]


def test_other_errors_keep_the_document_for_cross_checks():
    doc, problems = parse(version="A0")
    assert doc is not None
    assert [p.field for p in problems] == ["version"]


def test_catalog_rules():
    docs = [
        parse("QM-01")[0],
        parse("QP-01", references=["QM-01", "WI-QP01-09"], records=["QR-01-01"])[0],
    ]
    problems = check_catalog(docs, TODAY)
    assert problems == [
        Problem("docs/x.md", "references", "引用的文件 WI-QP01-09 不存在"),
        Problem("docs/x.md", "records", "要求的记录 QR-01-01 不存在"),
    ]


def test_overdue_is_a_warning_unless_strict():
    doc = parse(review_due="2026-11-20")[0]
    assert check_catalog([doc], TODAY) == [
        Problem(
            "docs/x.md", "review_due", "已超过下次评审日期 2026-11-20，请组织评审并更新", "warning"
        )
    ]
    assert check_catalog([doc], TODAY, overdue_is_error=True)[0].severity == "error"
    # Due today is not yet overdue.
    assert check_catalog([parse(review_due="2026-11-21")[0]], TODAY) == []


def test_pending_and_overdue_flags():
    doc = parse(effective="2026-12-01", review_due="2027-12-01")[0]
    assert doc.is_pending(TODAY) and not doc.is_overdue(TODAY)
