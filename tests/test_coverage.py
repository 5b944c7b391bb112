"""The controlled document set covers what the quality system needs, with the seeds' rules in place.

Checks the real docs/ and its strict build: every required procedure with its six
sections, the work instructions and job descriptions, the flowcharts, every
record code named anywhere resolving to a form in the register, and the seeds'
numbers and rules stated in the documents where they belong.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import yaml

from qms_site import catalog as catalog_module
from tests.sitekit import ROOT

pytestmark = pytest.mark.slow

CATALOG = catalog_module.load(
    ROOT,
    ROOT / "docs",
    ["manual", "procedures", "instructions"],
    ROOT / "data" / "forms",
    dt.date(2026, 11, 21),
)
DOCS = {d.code: d for d in CATALOG.documents}

PROCEDURES = {
    "QP-01": "文件控制",
    "QP-02": "记录控制",
    "QP-03": "质量管理体系策划",
    "QP-04": "目标责任管理",
    "QP-05": "人员培训与考核",
    "QP-06": "内部审核",
    "QP-07": "管理评审",
    "QP-08": "不合格服务控制",
    "QP-09": "纠正和预防措施",
    "QP-10": "物业管理质量检查",
    "QP-11": "质量考核与绩效挂钩",
    "QP-12": "业主投诉处理",
    "QP-13": "顾客满意度测量",
    "QP-14": "物业管理服务运作",
    "QP-15": "维修服务",
    "QP-16": "装修管理",
    "QP-17": "清洁管理",
    "QP-18": "绿化管理",
    "QP-19": "安全护卫",
    "QP-20": "消防设施管理",
    "QP-21": "停车场管理",
    "QP-22": "机电设备运行管理",
    "QP-23": "采购与外包服务质量控制",
    "QP-24": "物业接管验收与入伙",
    "QP-25": "突发事件处理",
}
SECTIONS = ["1 目的", "2 适用范围", "3 职责", "4 工作程序", "5 支持文件", "6 记录"]
WORK_INSTRUCTIONS = {
    "WI-QP10-01": "清洁",
    "WI-QP10-02": "绿化",
    "WI-QP10-03": "安保",
    "WI-QP10-04": "工程",
    "WI-QP10-05": "客户服务",
    "WI-QP12-01": "客户服务中心运作",
    "WI-QP19-01": "巡查路线",
    "WI-QP25-01": "电梯困人",
    "WI-QP25-02": "停水",
    "WI-QP25-03": "停电",
    "WI-QP25-04": "火灾",
    "WI-QP25-05": "可疑人员和车辆",
    "WI-GW-01": "品质管理部",
    "WI-GW-02": "质量管理员",
    "WI-GW-03": "客户主任",
    "WI-GW-04": "项目物业管理中心负责人",
    "WI-GW-05": "内审员",
}
#: The workflows the seeds list, each drawn inside the procedure it belongs to.
FLOWCHARTS = {
    "文件控制": "QP-01",
    "记录控制": "QP-02",
    "培训": "QP-05",
    "采购": "QP-23",
    "物业服务": "QP-14",
    "顾客满意": "QP-13",
    "不合格服务": "QP-08",
    "业主投诉处理": "QP-12",
    "报修": "QP-15",
    "质量检查与整改": "QP-10",
}


def text_of(site, code: str) -> str:
    """Visible text of a built page, tags removed, whitespace collapsed."""
    page = (site.site / DOCS[code].src.removesuffix(".md") / "index.html").read_text(
        encoding="utf-8"
    )
    body = page[page.index('<article class="md-content__inner') :]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def body_of(code: str) -> str:
    return (ROOT / "docs" / DOCS[code].src).read_text(encoding="utf-8")


def test_the_set_builds_and_has_no_problems(real_site):
    assert real_site.ok, real_site.output
    assert CATALOG.errors == []


@pytest.mark.parametrize("code", [f"QM-0{i}" for i in range(1, 6)])
def test_quality_manual_chapters(code):
    assert DOCS[code].status == "受控"


@pytest.mark.parametrize(("code", "name"), PROCEDURES.items())
def test_each_procedure_exists_with_the_six_sections(code, name):
    doc = DOCS[code]
    assert name in doc.title and doc.status == "受控"
    headings = re.findall(r"^## (.+)$", body_of(code), flags=re.M)
    assert headings == SECTIONS
    assert doc.revisions[0].version == "A/0" and doc.revisions[0].summary.startswith("首次发布")


@pytest.mark.parametrize(("code", "name"), WORK_INSTRUCTIONS.items())
def test_work_instructions_and_job_descriptions(code, name):
    assert name in DOCS[code].title and DOCS[code].status == "受控"


@pytest.mark.parametrize(("workflow", "code"), FLOWCHARTS.items())
def test_workflow_charts_are_in_their_procedures(real_site, workflow, code):
    page = (real_site.site / DOCS[code].src.removesuffix(".md") / "index.html").read_text(
        encoding="utf-8"
    )
    assert '<pre class="mermaid">' in page
    assert workflow in text_of(real_site, code)


def test_every_record_a_procedure_names_is_a_form_in_the_register(real_site):
    register = (real_site.site / "register" / "index.html").read_text(encoding="utf-8")
    named = set()
    for code in PROCEDURES:
        named |= set(re.findall(r"QR-\d{2}-\d{2}", text_of(real_site, code)))
        for record in DOCS[code].records:
            assert record in CATALOG.forms, f"{code} lists {record}"
            assert f'href="../../records/{record.lower()}/"' in (
                real_site.site / DOCS[code].src.removesuffix(".md") / "index.html"
            ).read_text(encoding="utf-8")
    assert named - set(CATALOG.forms) == set()
    assert all(f"<td>{code}</td>" in register for code in CATALOG.forms)
    assert len(named) >= 60


def test_every_procedure_record_table_lists_its_own_forms():
    for form in CATALOG.forms.values():
        assert form.code in DOCS[form.procedure].records


def test_quality_objectives_match_the_configuration(real_site):
    text = text_of(real_site, "QM-02")
    config = yaml.safe_load((ROOT / "data" / "qms.yml").read_text(encoding="utf-8"))
    symbols = {">=": "≥", "<": "<", "<=": "≤", ">": ">"}
    for o in config["objectives"]:
        target = (
            f"{o['target']}{o['unit'].strip()}"
            if o["unit"].strip() != "起"
            else f"{o['target']} 起"
        )
        assert o["name"] in text
        assert f"{symbols[o['comparison']]} {target}" in text or (
            o["target"] in (0, 100) and target in text
        ), o
    for seed in ("≥ 90%", "< 1%", "< 10%"):
        assert seed in text


def test_complaint_deadlines_match_the_configuration(real_site):
    text = text_of(real_site, "QP-12")
    complaints = yaml.safe_load((ROOT / "data" / "qms.yml").read_text(encoding="utf-8"))[
        "complaints"
    ]

    def words(minutes: int) -> str:
        return f"{minutes} 分钟" if minutes < 60 else f"{minutes // 60} 小时"

    urgent, normal = complaints["deadlines"]["紧急"], complaints["deadlines"]["一般"]
    assert f"{words(urgent['response_minutes'])}内响应到场" in text
    assert f"{words(urgent['resolve_minutes'])}内" in text
    assert f"{words(normal['response_minutes'])}内联系业主" in text
    assert f"{words(normal['resolve_minutes'])}内" in text
    assert f"办结后 {words(complaints['visit_minutes'])}内" in text


# The seeds' rules, where they belong ---------------------------------------------


@pytest.mark.parametrize(
    ("code", "phrases"),
    [
        pytest.param(
            "QP-10",
            [
                "日检",
                "周检",
                "月检",
                "每半年",
                "突击",
                "考核人得分的平均分",
                "每三个月",
                "5–10 户",
                "7 天内",
                "复查",
                "通报",
                "扣分",
                "5 日前",
            ],
            id="inspection",
        ),
        pytest.param(
            "QP-11",
            [
                "3 项及以上",
                "1–2 项",
                "低于 60%",
                "60%–80%",
                "高于 80%",
                "110%",
                "连续两个月",
                "辞退部门负责人",
                "S ≥ 95",
                "上浮 10%",
                "上浮 5%",
                "下浮 5%",
                "下浮 10%",
                "75 ≤ S < 80",
                "S < 75",
            ],
            id="grading",
        ),
        pytest.param(
            "QP-12",
            [
                "业主姓名",
                "房号",
                "联系电话",
                "需求项目",
                "服务态度",
                "维修不及时",
                "环境卫生",
                "安全秩序",
                "设施设备",
                "收费",
                "受理",
                "派工",
                "处理中",
                "已办结",
                "已回访",
                "关闭",
                "不满意",
                "138****1234",
            ],
            id="complaints",
        ),
        pytest.param("QP-13", ["5–10 户", "走访", "回访", "90%"], id="satisfaction"),
        pytest.param("QP-14", ["标识和可追溯性"], id="service-operation"),
        pytest.param("QP-06", ["首次会议", "末次会议", "不符合项报告"], id="internal-audit"),
        pytest.param("QP-07", ["质量方针", "质量目标"], id="management-review"),
        pytest.param("QP-15", ["维修台账"], id="repairs"),
    ],
)
def test_seed_rules_are_stated(real_site, code, phrases):
    text = text_of(real_site, code)
    missing = [p for p in phrases if p not in text]
    assert missing == []


def test_serious_nonconformity_is_defined_with_the_five_cases(real_site):
    text = text_of(real_site, "QP-11")
    for case in (
        "条款未开展",
        "重大安全责任事故",
        "重大经济损失",
        "恶劣影响",
        "违反国家相关法律法规",
    ):
        assert case in text


def test_the_seeds_qp22_clash_is_resolved_and_recorded():
    assert DOCS["QP-22"].title == "机电设备运行管理程序"
    assert DOCS["QP-26"].title == "计量器具管理程序"
    for code in ("QP-14", "QP-26"):
        assert "QP-22" in DOCS[code].revisions[0].summary


def test_iso_cross_reference_covers_every_procedure(real_site):
    text = text_of(real_site, "QM-05")
    for clause in ("4.1", "5.2", "6.2", "7.5", "8.4", "8.5", "9.1", "9.2", "9.3", "10.2"):
        assert clause in text
    assert [code for code in PROCEDURES if code not in text] == []


#: The record forms the forms issue requires, by what they are.
REQUIRED_FORMS = {
    **{
        f"QR-10-{n:02d}": kind
        for n, kind in enumerate(
            [
                f"{d}{k}"
                for d in ("清洁", "绿化", "安保", "工程", "客户服务")
                for k in ("日检", "周检", "月检")
            ],
            start=1,
        )
    },
    "QR-10-16": "项目绩效考核稽查检查表",
    "QR-10-17": "季度联检评分表",
    "QR-12-01": "业主投诉登记表",
    "QR-13-01": "走访/回访住户记录表",
    "QR-13-02": "业主满意度调查表",
    "QR-06-03": "内部审核检查表",
    "QR-06-04": "不符合项报告",
}


@pytest.mark.parametrize(("code", "kind"), REQUIRED_FORMS.items())
def test_required_form_definitions_exist(code, kind):
    form = CATALOG.forms[code]
    title = (
        form.title.replace("工程设施设备", "工程").replace("服务", "")
        if code.startswith("QR-10-") and int(code[-2:]) <= 15
        else form.title
    )
    discipline, level = (
        (kind[:-2], kind[-2:]) if code.startswith("QR-10-") and int(code[-2:]) <= 15 else (kind, "")
    )
    assert discipline.replace("服务", "") in title and level in title
    if code.startswith("QR-10-") or code == "QR-06-03":
        assert form.is_checklist
    if code in ("QR-10-16",):
        assert form.scoring.total == 100


def test_checklists_follow_their_work_instruction():
    """Each discipline checklist's item standards come from its inspection-standard WI."""
    for n, wi in zip(
        range(1, 16), [f"WI-QP10-0{i}" for i in range(1, 6) for _ in range(3)], strict=True
    ):
        form = CATALOG.forms[f"QR-10-{n:02d}"]
        source = body_of(wi)
        missing = [i.key for i in form.items if i.standard and i.standard[:12] not in source]
        assert missing == [], (form.code, wi)
