"""The tables of each report, shaped once for every export (CSV, Excel) — like the paper forms."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""
    widths: list[int] = field(default_factory=list)


def _pct(value) -> str:
    return "" if value is None else f"{value:g}%"


def _pay(value) -> str:
    """Pay change in QP-11's words: 上浮 10%, 下浮 5%, 不浮动."""
    if value is None:
        return ""
    return "不浮动" if value == 0 else f"{'上浮' if value > 0 else '下浮'} {abs(value)}%"


def monthly(report: dict, unit_name: str) -> list[Table]:
    month = report["month"]
    title_month = f"{month[:4]}年{int(month[5:])}月"
    assessments = Table(
        f"{unit_name} {title_month}项目考核评分汇总表",
        ["管理处", "考核批次", "考核人及得分", "管理处得分", "负责人工资浮动"],
        [
            [
                r["name"],
                r["assessment"]["batch"] or "本月无考核",
                "、".join(f"{a['assessor']} {a['score']:g}" for a in r["assessment"]["assessors"]),
                r["assessment"]["score"],
                _pay(r["assessment"]["pay_adjustment"]),
            ]
            for r in report["projects"]
        ],  # fmt: skip
        note=f"QR-11-01 · 次月 5 日前报送，本表应于 {report['due']} 前报送品质管理部和行政人事部"
        + (
            f" · 分公司得分 {report['unit_score']:g}，分公司负责人工资浮动 {_pay(report['unit_pay_adjustment'])}"
            if report["unit_score"] is not None
            else ""
        ),  # fmt: skip
        widths=[22, 14, 40, 12, 16],
    )
    inspections = Table(
        f"{unit_name} {title_month}物业管理质量检查报告",
        ["表格", "检查次数", "平均得分", "严重不合格", "一般不合格"],
        [
            [f"{i['form']} {i['title']}", i["count"], i["average"], i["serious"], i["general"]]
            for i in report["inspections"]
        ],
        note=f"QR-10-19 · 统计至 {report['as_of']}",
        widths=[36, 10, 10, 12, 12],
    )
    rectification = Table(
        f"{unit_name} {title_month}不合格项整改情况表",
        ["管理处", "本月签发", "本月到期", "复查合格", "整改合格率", "逾期未整改", "再次通知"],
        [
            [
                r["name"],
                r["issued"],
                r["all_due"],
                r["all_passed"],
                _pct(r["all_rate"]),
                len(r["overdue"]),
                len(r["reissued"]),
            ]
            for r in report["projects"]
        ],  # fmt: skip
        note=f"QR-10-21 · 应于 {report['due']} 前报送品质管理部",
        widths=[22, 10, 10, 10, 12, 12, 10],
    )
    grades = Table(
        f"{unit_name} {title_month}月度质量考核等级评定表",
        [
            "管理处",
            "严重不合格",
            "一般不合格",
            "整改合格率",
            "按不合格项",
            "按整改率",
            "等级",
            "品质考核分",
            "连续两月",
        ],
        [
            [
                r["name"],
                r["serious"],
                r["general"],
                _pct(r["rate"]) if r["rate"] is not None else "无到期项（按 100%）",
                r["grade_by_count"],
                r["grade_by_rate"],
                r["grade"],
                r["quality_score"],
                r["flag"] or "",
            ]
            for r in report["projects"]
        ],  # fmt: skip
        note="QR-11-02 · 仅计上级检查（稽查考核、季度联检）发现的不合格项；两条规则取较差等级",
        widths=[22, 12, 12, 18, 12, 10, 8, 12, 14],
    )
    return [assessments, inspections, rectification, grades]


def complaints(report: dict) -> list[Table]:
    return [
        Table("投诉类别排列图数据", ["类别", "件数", "累计百分比"],
              [[r["category"], r["count"], _pct(r["cumulative"])] for r in report["pareto"]], widths=[18, 10, 14]),
        Table("按月统计", ["月份", "受理", "有效", "结案", "结案率", "处理及时率", "回访率", "回访满意率", "当前逾期"],
              [[m["month"], m["received"], m["valid"], m["closed"], _pct(m["closure_rate"]), _pct(m["on_time_rate"]),
                _pct(m["visit_rate"]), _pct(m["satisfaction_rate"]), m["overdue"]] for m in report["by_month"]],
              widths=[10, 8, 8, 8, 10, 12, 10, 12, 10]),
        Table("按管理处", ["管理处", "件数"], [[k, v] for k, v in report["by_project"].items()], widths=[22, 10]),
        Table("按紧急程度", ["紧急程度", "件数"], [[k, v] for k, v in report["by_urgency"].items()], widths=[12, 10]),
    ]  # fmt: skip


def inspections(report: dict) -> list[Table]:
    months = report["months"]
    return [
        Table("各管理处检查平均得分", ["管理处", *months],
              [[report["projects"][p], *vals] for p, vals in report["trend"].items()], widths=[22, *[10] * len(months)]),
        Table("各检查表平均得分", ["表格", "次数", *months],
              [[f"{f['form']} {f['title']}", f["count"], *f["averages"]] for f in report["by_form"]],
              widths=[36, 8, *[10] * len(months)]),
    ]  # fmt: skip


def objectives(report: dict) -> list[Table]:
    months = report["months"]
    symbols = {">=": "≥", ">": ">", "<": "<", "<=": "≤"}
    rows = []
    for o in report["objectives"]:
        target = (
            f"{symbols[o['comparison']]} {o['target']:g}{o['unit']}" if o["comparison"] else "—"
        )
        if o["values"] is None:
            rows.append([o["name"], target, *["" for _ in months], o["source"]])
            continue
        cells = [("" if v is None else f"{v:g}{o['unit']}" + ("" if met is None else (" ✓" if met else " ✗")))
                 for v, met in zip(o["values"], o["met"], strict=True)]  # fmt: skip
        rows.append([o["name"], target, *cells, o["source"]])
    return [Table("质量目标完成情况", ["质量目标", "目标值", *months, "数据来源"], rows, note="✓ 达到目标  ✗ 未达到",
                  widths=[18, 10, *[12] * len(months), 22])]  # fmt: skip
