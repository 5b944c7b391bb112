"""The record page (记录表格) of a form definition: a printable blank form and a
button to fill it in online. Pure: a `FormDef` in, Markdown with HTML out.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from forms_server.definitions import CRITICAL_EFFECTS, FIELD_TYPES, NA_RULES, Field, FormDef, Item

BOX = "□"


def record_page(form: FormDef) -> str:
    """Markdown body of ``records/<code>.md`` (the hook adds title, header, revisions)."""
    parts = [
        '<div class="qms-form-actions" data-search-exclude="true">'
        f'<a class="md-button md-button--primary" href="/forms/{escape(form.code)}/new">在线填写</a> '
        '<button class="md-button" type="button" onclick="window.print()">打印空白表</button>'
        "</div>",
        "",
        f"**用途：**{escape(form.description)}" if form.description else "",
        "",
        '<div class="qms-blank-form">',
        f'<p class="qms-blank-title">{escape(form.title)}</p>',
        f'<p class="qms-blank-meta">{escape(form.code)}  版本 {escape(form.version)}  No.__________</p>',
        header_table(form.fields),
    ]
    if form.sections:
        parts.append(checklist_table(form) if form.scoring else audit_table(form))
        if form.scoring:
            parts.append(scoring_notes(form))
        parts.append(
            '<table class="qms-blank-table"><tr><th>不合格项及整改要求</th></tr>'
            '<tr><td class="qms-blank-area"></td></tr></table>'
        )
    if not any(f.type == "signature" for f in form.fields):
        parts.append(
            '<p class="qms-blank-sign">填表人：__________  审核：__________  日期：______年____月____日</p>'
        )
    parts.append("</div>")
    parts.append("")
    parts.append(field_guide(form))
    return "\n".join(p for p in parts if p is not None) + "\n"


def header_table(fields: tuple[Field, ...]) -> str:
    """Header fields two to a row; long text, multiple choice and photos take a full row."""
    rows: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            rows.append(
                "<tr>" + "".join(pending) + "<th></th><td></td>" * (2 - len(pending)) + "</tr>"
            )
            pending.clear()

    for f in fields:
        label = escape(f.label) + ('<span class="qms-req">*</span>' if f.required else "")
        css = "qms-blank-area" if f.type == "textarea" else "qms-blank"
        if f.type in ("textarea", "multichoice", "photo"):
            flush()
            rows.append(f'<tr><th>{label}</th><td colspan="3" class="{css}">{blank(f)}</td></tr>')
        else:
            pending.append(f'<th>{label}</th><td class="{css}">{blank(f)}</td>')
            if len(pending) == 2:
                flush()
    flush()
    return '<table class="qms-blank-table qms-blank-header">' + "".join(rows) + "</table>"


def blank(f: Field) -> str:
    """How an empty field looks on paper."""
    if f.type in ("choice", "multichoice"):
        return "  ".join(f"{BOX} {escape(o)}" for o in f.options)
    if f.type == "yesno":
        return f"{BOX} 是  {BOX} 否"
    if f.type == "date":
        return "______年____月____日"
    if f.type == "time":
        return "____时____分"
    if f.type == "number" and f.unit:
        return f"__________ {escape(f.unit)}"
    if f.type == "photo":
        return f"（附照片，最多 {f.max_files} 张）"
    return ""


def method(item: Item) -> str:
    """The scoring rule of one item, in words."""
    if item.mode == "pass_fail":
        text = f"合格 {points_text(item.points)} / 不合格 0"
    elif item.mode == "fixed":
        text = f"不合格扣 {points_text(item.deduction)} 分"
    elif item.mode == "deduct":
        text = f"每处扣 {points_text(item.per)} 分，扣完为止"
    elif item.mode == "tiered":
        text = " / ".join(f"{t.label} {points_text(t.points)}" for t in item.tiers)
    else:
        text = f"{BOX} 符合  {BOX} 不符合"
    if item.na:
        text += "；可不适用"
    return escape(text)


def checklist_table(form: FormDef) -> str:
    rows = [
        "<tr><th>序号</th><th>检查项目</th><th>检查标准</th><th>分值</th><th>评分方法</th>"
        "<th>得分</th><th>记录</th></tr>"
    ]
    for s_index, section in enumerate(form.sections, start=1):
        rows.append(
            f'<tr class="qms-blank-section"><td>{s_index}</td><td colspan="2">{escape(section.title)}</td>'
            f"<td>{points_text(section.points)}</td><td>小计</td><td></td><td></td></tr>"
        )
        for i_index, item in enumerate(section.items, start=1):
            flag = ""
            if item.critical:
                flag = f'<span class="qms-critical">否决项：{escape(_critical(item))}</span>'
            rows.append(
                f"<tr><td>{s_index}.{i_index}</td><td>{escape(item.text)}{flag}</td>"
                f"<td>{escape(item.standard)}</td><td>{points_text(item.points)}</td><td>{method(item)}</td>"
                "<td></td><td></td></tr>"
            )
    total = form.scoring.total if form.scoring else Decimal(0)
    rows.append(
        f'<tr class="qms-blank-section"><td></td><td colspan="2">合计</td><td>{points_text(total)}</td>'
        "<td>总得分</td><td></td><td></td></tr>"
    )
    return '<table class="qms-blank-table qms-blank-items">' + "".join(rows) + "</table>"


def audit_table(form: FormDef) -> str:
    rows = [
        "<tr><th>序号</th><th>检查内容</th><th>检查方法/依据</th><th>结果</th><th>记录</th></tr>"
    ]
    for s_index, section in enumerate(form.sections, start=1):
        rows.append(
            f'<tr class="qms-blank-section"><td>{s_index}</td><td colspan="4">{escape(section.title)}</td></tr>'
        )
        for i_index, item in enumerate(section.items, start=1):
            rows.append(
                f"<tr><td>{s_index}.{i_index}</td><td>{escape(item.text)}</td><td>{escape(item.standard)}</td>"
                f"<td>{method(item)}</td><td></td></tr>"
            )
    return '<table class="qms-blank-table qms-blank-items">' + "".join(rows) + "</table>"


def scoring_notes(form: FormDef) -> str:
    scoring = form.scoring
    assert scoring is not None
    band_text = []
    for higher, band in zip((None, *scoring.bands), scoring.bands, strict=False):
        if band.min or higher is None:
            band_text.append(f"{escape(band.grade)}：{points_text(band.min)} 分及以上")
        else:
            band_text.append(f"{escape(band.grade)}：低于 {points_text(higher.min)} 分")
    lines = [
        "<li>评定等级：" + "\uff1b".join(band_text) + "。</li>",
        f"<li>不适用项：{escape(NA_RULES[scoring.na])}。</li>",
    ]
    criticals = [i for i in form.items if i.critical]
    if criticals:
        lines.append(
            "<li>否决项："
            + "\uff1b".join(
                f"{escape(i.text)}\uff08{escape(_critical(i))}\uff09" for i in criticals
            )
            + "。</li>"
        )
    for a in scoring.adjustments:
        sign = "加" if a.points > 0 else "扣"
        limit = f"，最多 {a.max_times} 次" if a.max_times > 1 else ""
        lines.append(
            f"<li>{BOX} {escape(a.label)}：每次{sign} {points_text(abs(a.points))} 分{limit}，共 ____ 次。</li>"
        )
    for c in scoring.downgrade:
        lines.append(f"<li>{BOX} {escape(c.label)}：评定等级降一档。</li>")
    lines.append("<li>加分后总分不超过满分，扣分后不低于 0 分；一般/严重不合格在记录栏注明。</li>")
    return '<ul class="qms-blank-notes">' + "".join(lines) + "</ul>"


def field_guide(form: FormDef) -> str:
    """A compact table of the fields, for readers on screen (hidden in print)."""
    lines = [
        '<div class="qms-field-guide" markdown>',
        "",
        "### 填写说明",
        "",
        "| 栏目 | 类型 | 必填 | 说明 |",
        "| --- | --- | --- | --- |",
    ]
    for f in form.fields:
        note = f.help or ("、".join(f.options) if f.options else "")
        lines.append(
            f"| {escape(f.label)} | {FIELD_TYPES[f.type]} | {'是' if f.required else '否'} | {escape(note).replace('|', '/')} |"
        )
    if form.sections:
        scored = "逐项评分，分数由系统按评分方法自动计算" if form.scoring else "逐项判定符合/不符合"
        lines.append(f"| 检查项目 | 共 {len(form.items)} 项 | 是 | {scored} |")
    lines += ["", "</div>"]
    return "\n".join(lines)


def _critical(item: Item) -> str:
    assert item.critical is not None
    if item.critical.effect == "deduct":
        return f"不合格另扣 {points_text(item.critical.points)} 分"
    return CRITICAL_EFFECTS["fail"]


def points_text(value: Decimal | None) -> str:
    """A number as people write it: 4, 0.2, 10 (never 4.0 or 1E+1)."""
    return "" if value is None else format(value.normalize(), "f")
