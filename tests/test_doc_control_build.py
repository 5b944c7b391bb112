"""Document control enforced by the real site build: one defect per test tree.

Each case writes a small valid project, introduces exactly one defect, runs the
strict build and asserts it fails naming the file and the field.
"""

from __future__ import annotations

import pytest

from tests.sitekit import Project, form, front_matter, markdown

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path / "project")


def test_valid_minimal_project_builds(project):
    build = project.build()
    assert build.ok, build.output
    assert "文件控制检查未通过" not in build.output


def _replace(project: Project, doc_code: str, /, **fields) -> str:
    """Rewrite ``doc_code`` of the minimal project with ``fields`` changed."""
    defaults = {"QP-01": {"references": ["QM-01"], "records": ["QR-01-01"]}}
    return project.add(doc_code, **{**defaults.get(doc_code, {}), **fields})


DEFECTS = [
    pytest.param("QP-01", {"owner": None}, "owner", "缺少必填字段“归口部门”", id="missing-owner"),
    pytest.param("QP-01", {"title": None}, "title", "缺少必填字段“文件名称”", id="missing-title"),
    pytest.param(
        "QP-01", {"version": "A0"}, "version", "版本号“A0”格式不正确", id="malformed-version"
    ),
    pytest.param(
        "QP-01", {"effective": "2026-13-01"}, "effective", "不是有效日期", id="effective-not-a-date"
    ),
    pytest.param(
        "QP-01",
        {"review_due": "明年三月"},
        "review_due",
        "不是有效日期",
        id="review-due-not-a-date",
    ),
    pytest.param("QP-01", {"status": "有效"}, "status", "状态“有效”无效", id="unknown-status"),
    pytest.param("QP-01", {"ower": "品质管理部"}, "ower", "未知字段“ower”", id="unknown-field"),
    pytest.param(
        "QP-01", {"code": "QP-1"}, "code", "文件编号“QP-1”格式不正确", id="malformed-code"
    ),
    pytest.param(
        "QP-01",
        {"references": ["QM-01", "QP-99"]},
        "references",
        "引用的文件 QP-99 不存在",
        id="unknown-reference",
    ),
    pytest.param(
        "QP-01",
        {"records": ["QR-01-01", "QR-01-09"]},
        "records",
        "要求的记录 QR-01-09 不存在",
        id="unknown-record",
    ),
    pytest.param(
        "QP-01", {"records": ["QM-01"]}, "records", "QM-01 不是记录表格编号", id="record-not-a-form"
    ),
    pytest.param(
        "QP-01",
        {"approved_by": None},
        "approved_by",
        "受控文件必须填写“批准”",
        id="effective-without-approver",
    ),
    pytest.param(
        "QP-01",
        {"effective": None},
        "effective",
        "受控文件必须填写“生效日期”",
        id="effective-without-date",
    ),
    pytest.param(
        "QP-01",
        {"version": "A/1"},
        "revisions",
        "最新一条修订记录的版本号为 A/0，与文件版本号 A/1 不一致",
        id="latest-revision-mismatch",
    ),
    pytest.param(
        "QP-01",
        {
            "version": "A/1",
            "revisions": [
                {
                    "version": "A/1",
                    "date": "2026-05-01",
                    "summary": "修订",
                    "approved_by": "王建国",
                },
                {
                    "version": "A/0",
                    "date": "2026-02-20",
                    "summary": "首次发布",
                    "approved_by": "王建国",
                },
            ],
        },
        "revisions",
        "修订记录应按版本递增排列",
        id="revisions-out-of-order",
    ),
    pytest.param(
        "QP-01",
        {"revisions": [{"version": "A/0", "date": "2026-02-20"}]},
        "revisions[1].summary",
        "缺少修订内容",
        id="revision-without-summary",
    ),
    pytest.param(
        "QP-01",
        {"status": "作废"},
        "withdrawn_on",
        "作废文件必须填写“作废日期”",
        id="obsolete-without-date",
    ),
    pytest.param(
        "QP-01",
        {"review_due": "2026-01-01"},
        "review_due",
        "不晚于生效日期",
        id="review-before-effective",
    ),
]


@pytest.mark.parametrize(("code", "fields", "field", "message"), DEFECTS)
def test_defect_fails_build_naming_file_and_field(project, code, fields, field, message):
    path = _replace(project, code, **fields)
    build = project.build()
    assert not build.ok
    assert f"{path}: {field}: " in build.output, build.output
    assert message in build.output


def test_duplicate_code_names_both_files(project):
    # The seeds number two different procedures QP-22; the build must refuse that.
    project.add("QP-22", title="计量器具管理程序")
    other = project.write(
        "docs/procedures/qp-22-marking.md",
        markdown(front_matter("QP-22", title="产品/服务标识管理程序")),
    )
    build = project.build()
    assert not build.ok
    assert "docs/procedures/qp-22.md: code: 文件编号 QP-22 重复" in build.output
    assert f"{other.relative_to(project.root)}: code: 文件编号 QP-22 重复" in build.output


def test_effective_document_may_not_reference_an_obsolete_one(project):
    project.add("QM-01", status="作废", withdrawn_on="2026-06-01", withdrawn_reason="合并到 QM-02")
    build = project.build()
    assert not build.ok
    assert "docs/procedures/qp-01.md: references: 受控文件引用了已作废的文件 QM-01" in build.output


def test_missing_front_matter(project):
    project.write("docs/procedures/qp-02.md", "## 1 目的\n\n没有文件头。\n")
    build = project.build()
    assert not build.ok
    assert "docs/procedures/qp-02.md: front matter: 受控文件缺少文件头信息" in build.output


def test_body_must_not_repeat_the_title(project):
    project.add("QP-02", body="# 我的标题\n\n正文。\n")
    build = project.build()
    assert not build.ok
    assert "docs/procedures/qp-02.md: 正文: 正文不应包含一级标题“我的标题”" in build.output


def test_broken_form_metadata_names_the_yml_file(project):
    project.write("data/forms/QR-01-01.yml", form("QR-01-01", version="1.0"))
    build = project.build()
    assert not build.ok
    assert "data/forms/QR-01-01.yml: version: 版本号“1.0”格式不正确" in build.output


def test_broken_form_structure_fails_the_build_with_its_path(project):
    broken = form("QR-01-01").replace("fields:\n- key: note", "fields:\n- key: Note")
    project.write("data/forms/QR-01-01.yml", broken)
    build = project.build()
    assert not build.ok
    assert "data/forms/QR-01-01.yml: fields[1].key: key 'Note' 无效" in build.output


def test_form_must_be_listed_by_its_procedure(project):
    project.add("QP-01", references=["QM-01"], records=[])
    build = project.build()
    assert not build.ok
    assert (
        "data/forms/QR-01-01.yml: procedure: QP-01 的 records 中未列出本表 QR-01-01" in build.output
    )


def test_all_problems_are_reported_together(project):
    _replace(project, "QP-01", version="A0", owner=None, references=["QM-01", "QP-98"])
    project.add("QM-01", status="受控", approved_by=None)
    build = project.build()
    assert not build.ok
    assert "共 4 个问题" in build.output
    for line in (
        "docs/procedures/qp-01.md: version:",
        "docs/procedures/qp-01.md: owner:",
        "docs/procedures/qp-01.md: references: 引用的文件 QP-98 不存在",
        "docs/manual/qm-01.md: approved_by:",
    ):
        assert line in build.output


def test_overdue_review_warns_by_default_and_fails_when_strict(project):
    _replace(project, "QP-01", effective="2025-01-01", review_due="2025-12-31")
    relaxed = project.build()
    assert relaxed.ok, relaxed.output
    assert "docs/procedures/qp-01.md: review_due: 已超过下次评审日期 2025-12-31" in relaxed.output
    assert "评审逾期" in relaxed.page("procedures/qp-01.md")

    strict = project.build(env={"QMS_OVERDUE_REVIEW": "error"})
    assert not strict.ok
    assert "docs/procedures/qp-01.md: review_due: 已超过下次评审日期 2025-12-31" in strict.output
    assert "文件控制检查未通过，共 1 个问题" in strict.output


def test_invalid_overdue_setting_is_refused(project):
    build = project.build(env={"QMS_OVERDUE_REVIEW": "maybe"})
    assert not build.ok
    assert "extra.doc_control.overdue_review 应为 warn 或 error" in build.output


def test_ref_macro_requires_declared_reference(project):
    _replace(
        project, "QP-01", body="见 {{ ref('QM-01') }} 和 {{ ref('QR-01-01') }}。\n", references=[]
    )
    build = project.build()
    assert not build.ok
    assert (
        "docs/procedures/qp-01.md: references: 正文引用了 QM-01，但 references/records 中未列出"
        in build.output
    )


def test_ref_macro_to_unknown_code_fails(project):
    project.write("docs/index.md", "# 首页\n\n见 {{ ref('QP-42') }}。\n")
    build = project.build()
    assert not build.ok
    assert "ref(): 文件编号 QP-42 不存在" in build.output


def test_undefined_macro_variable_fails(project):
    project.write("docs/index.md", "# 首页\n\n{{ qms.company.nmae }}\n")
    build = project.build()
    assert not build.ok
    assert "nmae" in build.output
