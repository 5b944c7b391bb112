"""Form definitions (``data/forms/*.yml``): load and validate, with no web framework.

A definition is a controlled record (记录表格): it carries the document-control
metadata of `qms_site.doccontrol` beside the keys below. The same definition
drives the printable blank form in the manual, the web form, validation,
scoring and the report columns. A broken definition is rejected with its file,
the path inside it (``sections[2].items[4].points``) and the reason.

Top-level form keys:

``procedure``   the owning procedure (QP-…)
``description`` what the record is for, who fills it in, when
``fields``      header fields, in order
``sections``    checklist sections with items (optional)
``scoring``     total, N/A rule, grade bands, adjustments, downgrades (checklists with points)
``workflow``    a workflow the record starts (``complaint``), optional
``rectification`` for inspections: the team each nonconforming item's 整改通知书 goes to
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path

import yaml

from qms_site.doccontrol import Document, Problem, parse_document

FORM_KEYS = frozenset(
    {"procedure", "description", "fields", "sections", "scoring", "workflow", "rectification"}
)

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

#: Field types and their Chinese names (for the format guide and messages).
FIELD_TYPES: dict[str, str] = {
    "text": "单行文字",
    "textarea": "多行文字",
    "number": "数字",
    "date": "日期",
    "time": "时间",
    "choice": "单选",
    "multichoice": "多选",
    "project": "管理处",
    "location": "位置",
    "person": "人员",
    "phone": "电话",
    "yesno": "是/否",
    "photo": "照片",
    "signature": "签名",
}
FIELD_ATTRS = {
    "key", "label", "type", "required", "help", "options", "min", "max", "unit",
    "integer", "max_length", "max_files", "list",
}  # fmt: skip

#: Item scoring modes.
MODES: dict[str, str] = {
    "pass_fail": "合格/不合格，合格得满分，不合格得 0 分",
    "tiered": "分档评分，如 符合/基本符合/不符合 各得若干分",
    "deduct": "每发现一处扣 per 分，扣完为止",
    "fixed": "不合格时固定扣 deduction 分",
    "check": "只判定 符合/不符合，不计分",
}
ITEM_ATTRS = {
    "key",
    "text",
    "standard",
    "points",
    "mode",
    "per",
    "deduction",
    "tiers",
    "na",
    "critical",
}
SECTION_ATTRS = {"key", "title", "items"}
SCORING_ATTRS = {"total", "na", "bands", "adjustments", "downgrade"}
NA_RULES = {"exclude": "不适用项不计入总分，按适用项折算", "full": "不适用项按满分计"}
CRITICAL_EFFECTS = {"fail": "一票否决，总分计 0 分", "deduct": "另从总分扣除 points 分"}
WORKFLOWS = {"complaint": "业主投诉处理流程"}
#: Fields a form must have (key → type) to start a workflow.
WORKFLOW_FIELDS = {
    "complaint": {
        "project": "project", "received_date": "date", "received_time": "time", "owner_name": "text",
        "room": "location", "phone": "phone", "category": "choice", "urgency": "choice", "content": "textarea",
    },
}  # fmt: skip

PASS, FAIL, NA = "合格", "不合格", "不适用"
CONFORM, NONCONFORM = "符合", "不符合"
SEVERITIES = ("一般", "严重")


# Data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: str
    required: bool = False
    help: str = ""
    options: tuple[str, ...] = ()
    min: Decimal | None = None
    max: Decimal | None = None
    unit: str = ""
    integer: bool = False
    max_length: int = 200
    max_files: int = 3
    list: bool = False


@dataclass(frozen=True)
class Tier:
    label: str
    points: Decimal


@dataclass(frozen=True)
class Critical:
    effect: str  # "fail" | "deduct"
    points: Decimal = Decimal(0)


@dataclass(frozen=True)
class Item:
    key: str
    text: str
    mode: str
    section: str
    points: Decimal = Decimal(0)
    standard: str = ""
    per: Decimal | None = None
    deduction: Decimal | None = None
    tiers: tuple[Tier, ...] = ()
    na: bool = False
    critical: Critical | None = None

    @cached_property  # asked for every item of every submission scored
    def scored(self) -> bool:
        return self.mode != "check"

    def choices(self) -> tuple[str, ...]:
        """The results an inspector may record (count-based deduct items take a count)."""
        return self._choices

    @cached_property
    def _choices(self) -> tuple[str, ...]:
        if self.mode == "tiered":
            base = tuple(t.label for t in self.tiers)
        elif self.mode == "check":
            base = (CONFORM, NONCONFORM)
        elif self.mode == "deduct":
            base = ()
        else:
            base = (PASS, FAIL)
        return base + ((NA,) if self.na else ())


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    items: tuple[Item, ...]

    @cached_property  # asked for by every submission scored
    def points(self) -> Decimal:
        return sum((i.points for i in self.items), Decimal(0))


@dataclass(frozen=True)
class Band:
    grade: str
    min: Decimal


@dataclass(frozen=True)
class Adjustment:
    key: str
    label: str
    points: Decimal  # positive: bonus; negative: penalty
    max_times: int = 1


@dataclass(frozen=True)
class Condition:
    key: str
    label: str


@dataclass(frozen=True)
class Scoring:
    total: Decimal
    na: str
    bands: tuple[Band, ...]
    adjustments: tuple[Adjustment, ...] = ()
    downgrade: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class FormDef:
    code: str
    title: str
    version: str
    status: str
    owner: str
    procedure: str
    description: str
    path: str
    fields: tuple[Field, ...]
    sections: tuple[Section, ...] = ()
    scoring: Scoring | None = None
    workflow: str = ""
    #: Team that receives a 整改通知书 for each nonconforming item ("" for none).
    rectification: str = ""

    # A definition never changes once loaded: its item list and lookups are computed once
    # (validating a submission looks up every item; rebuilding them each time was quadratic).
    @cached_property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def _items_by_key(self) -> dict[str, Item]:
        return {i.key: i for i in reversed(self.items)}  # the first of a repeated key wins

    def item(self, key: str) -> Item | None:
        return self._items_by_key.get(key)

    @cached_property
    def _fields_by_key(self) -> dict[str, Field]:
        return {f.key: f for f in reversed(self.fields)}  # the first of a repeated key wins

    def field(self, key: str) -> Field | None:
        return self._fields_by_key.get(key)

    @property
    def is_checklist(self) -> bool:
        return bool(self.sections)

    @cached_property
    def project_field(self) -> Field | None:
        return next((f for f in self.fields if f.type == "project"), None)

    @cached_property
    def date_field(self) -> Field | None:
        return next((f for f in self.fields if f.type == "date"), None)


# Loading ---------------------------------------------------------------------


@dataclass
class Loaded:
    forms: dict[str, FormDef] = field(default_factory=dict)
    #: Document-control metadata of every file with a usable code, valid form or not.
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


#: PyYAML's safe loader on libyaml's C parser when PyYAML has it: the same documents and
#: error positions, about ten times faster (a site build reads every definition, and
#: every revision of each from git; the server reads them all at start).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> object:
    """`yaml.safe_load`, on libyaml's parser when available."""
    return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader


def load_dir(forms_dir: Path, project_dir: Path | None = None) -> Loaded:
    """Load and validate every ``*.yml`` definition in ``forms_dir``."""
    result = Loaded()
    base = project_dir or forms_dir.parent.parent
    for path in sorted(forms_dir.glob("*.yml")):
        try:
            rel = path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            rel = path.as_posix()
        try:
            raw = load_yaml(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            result.problems.append(Problem(rel, "YAML", f"无法解析：{exc}"))
            continue
        form, doc, problems = parse_form_document(rel, raw)
        result.problems.extend(problems)
        if doc is not None:
            doc.src = f"records/{doc.code.lower()}.md"
            result.documents.append(doc)
        if form is not None:
            if path.stem != form.code:
                result.problems.append(
                    Problem(rel, "code", f"文件名应与文件编号一致：{form.code}.yml")
                )
            elif form.code in result.forms:
                result.problems.append(Problem(rel, "code", f"表单编号 {form.code} 重复"))
            else:
                result.forms[form.code] = form
    return result


def parse_form(path: str, raw: object) -> tuple[FormDef | None, list[Problem]]:
    """Validate one definition; return it only when it has no error at all."""
    form, _, problems = parse_form_document(path, raw)
    return form, problems


def parse_form_document(
    path: str, raw: object
) -> tuple[FormDef | None, Document | None, list[Problem]]:
    """Validate one definition; also return its document-control metadata when usable."""
    if not isinstance(raw, Mapping):
        return None, None, [Problem(path, "YAML", "表单定义应为“字段： 值”的映射")]
    doc, problems = parse_document(path, raw, extra_keys=FORM_KEYS)
    v = _Validator(path, problems)

    code = doc.code if doc else ""
    if code and not code.startswith("QR-"):
        v.error("code", f"表单定义只能是记录表格（QR-），而不是 {code}")
    procedure = raw.get("procedure")
    if not isinstance(procedure, str) or not re.match(r"^QP-\d{2}$", procedure.strip()):
        v.error("procedure", "应填写所属程序文件编号，如 QP-10")
    description = raw.get("description", "")
    if not isinstance(description, str):
        v.error("description", "用途说明应为文字")
    workflow = raw.get("workflow", "") or ""
    if workflow and workflow not in WORKFLOWS:
        v.error("workflow", f"未知流程“{workflow}”，可用：{'、'.join(WORKFLOWS)}")

    fields = v.fields(raw.get("fields"))
    sections = v.sections(raw.get("sections"), {f.key for f in fields})
    scoring = v.scoring(raw.get("scoring"), sections)
    if workflow in WORKFLOW_FIELDS:
        types = {f.key: f.type for f in fields}
        for key, kind in WORKFLOW_FIELDS[workflow].items():
            if types.get(key) != kind:
                v.error("fields", f"{WORKFLOWS[workflow]}需要{FIELD_TYPES[kind]}栏目“{key}”")
    rectification = raw.get("rectification", "") or ""
    if rectification and (not isinstance(rectification, str) or len(rectification) > 20):
        v.error("rectification", "应填写整改通知书的责任部门，如 保洁绿化班")
    elif rectification and not sections:
        v.error("rectification", "只有检查表（有检查项目）才能生成整改通知书")

    if problems:
        return None, doc, problems
    assert doc is not None
    return (
        FormDef(
            code=doc.code,
            title=doc.title,
            version=doc.version,
            status=doc.status,
            owner=doc.owner,
            procedure=procedure.strip(),
            description=(description or "").strip(),
            path=path,
            fields=tuple(fields),
            sections=tuple(sections),
            scoring=scoring,
            workflow=workflow,
            rectification=rectification,
        ),
        doc,
        [],
    )


class _Validator:
    """Collects problems while turning raw YAML into definition objects."""

    def __init__(self, path: str, problems: list[Problem]):
        self.path = path
        self.problems = problems

    def error(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.path, where, message))

    # Fields ------------------------------------------------------------------

    def fields(self, raw: object) -> list[Field]:
        if not isinstance(raw, list) or not raw:
            self.error("fields", "至少应有一个表头字段（如管理处、日期、填写人）")
            return []
        out: list[Field] = []
        seen: set[str] = set()
        for index, entry in enumerate(raw, start=1):
            where = f"fields[{index}]"
            if not isinstance(entry, Mapping):
                self.error(where, "每个字段应包含 key、label、type")
                continue
            self._unknown(entry, FIELD_ATTRS, where)
            key = self._key(entry, where, seen)
            label = self._text(entry, "label", where, "字段名称")
            ftype = entry.get("type")
            if ftype not in FIELD_TYPES:
                self.error(
                    f"{where}.type", f"字段类型“{ftype}”无效，可用：{'、'.join(FIELD_TYPES)}"
                )
                continue
            required = self._bool(entry, "required", where)
            listed = self._bool(entry, "list", where)
            options: tuple[str, ...] = ()
            if ftype in ("choice", "multichoice"):
                options = self._options(entry.get("options"), f"{where}.options")
            elif "options" in entry and ftype not in ("location", "person"):
                self.error(f"{where}.options", f"{FIELD_TYPES[ftype]}字段不使用 options")
            elif "options" in entry:
                options = self._options(entry.get("options"), f"{where}.options")
            low = self._decimal(entry, "min", where) if "min" in entry else None
            high = self._decimal(entry, "max", where) if "max" in entry else None
            if low is not None and high is not None and low > high:
                self.error(f"{where}.max", f"最大值 {high} 小于最小值 {low}")
            max_length = entry.get("max_length", 2000 if ftype == "textarea" else 200)
            if (
                not isinstance(max_length, int)
                or isinstance(max_length, bool)
                or not 1 <= max_length <= 10000
            ):
                self.error(f"{where}.max_length", "最大长度应为 1–10000 的整数")
                max_length = 200
            max_files = entry.get("max_files", 3)
            if (
                not isinstance(max_files, int)
                or isinstance(max_files, bool)
                or not 1 <= max_files <= 10
            ):
                self.error(f"{where}.max_files", "照片数量上限应为 1–10 的整数")
                max_files = 3
            if key and label:
                out.append(
                    Field(
                        key=key,
                        label=label,
                        type=ftype,
                        required=required,
                        help=str(entry.get("help", "") or ""),
                        options=options,
                        min=low,
                        max=high,
                        unit=str(entry.get("unit", "") or ""),
                        integer=self._bool(entry, "integer", where),
                        max_length=max_length,
                        max_files=max_files,
                        list=listed,
                    )
                )
        if sum(1 for f in out if f.type == "project") > 1:
            self.error("fields", "一张表只能有一个“管理处”字段")
        return out

    # Sections and items ------------------------------------------------------

    def sections(self, raw: object, field_keys: set[str]) -> list[Section]:
        if raw is None:
            return []
        if not isinstance(raw, list) or not raw:
            self.error("sections", "检查项目应为非空的分节列表")
            return []
        out: list[Section] = []
        section_keys: set[str] = set()
        item_keys: set[str] = set(field_keys)
        for s_index, entry in enumerate(raw, start=1):
            where = f"sections[{s_index}]"
            if not isinstance(entry, Mapping):
                self.error(where, "每节应包含 key、title、items")
                continue
            self._unknown(entry, SECTION_ATTRS, where)
            key = self._key(entry, where, section_keys)
            title = self._text(entry, "title", where, "分节标题")
            items_raw = entry.get("items")
            if not isinstance(items_raw, list) or not items_raw:
                self.error(f"{where}.items", "每节至少应有一个检查项目")
                continue
            items = [
                item
                for i_index, item_raw in enumerate(items_raw, start=1)
                if (item := self._item(item_raw, f"{where}.items[{i_index}]", key or "", item_keys))
            ]
            if key and title:
                out.append(Section(key=key, title=title, items=tuple(items)))
        modes = {i.mode == "check" for s in out for i in s.items}
        if len(modes) > 1:
            self.error("sections", "同一张表中计分项目与不计分（check）项目不能混用")
        return out

    def _item(self, raw: object, where: str, section: str, seen: set[str]) -> Item | None:
        if not isinstance(raw, Mapping):
            self.error(where, "检查项目应包含 key、text、mode")
            return None
        self._unknown(raw, ITEM_ATTRS, where)
        key = self._key(raw, where, seen)
        text = self._text(raw, "text", where, "检查内容")
        mode = raw.get("mode")
        if mode not in MODES:
            self.error(f"{where}.mode", f"评分方式“{mode}”无效，可用：{'、'.join(MODES)}")
            return None
        points = Decimal(0)
        if mode == "check":
            if "points" in raw:
                self.error(f"{where}.points", "check 项目不计分，不应填写 points")
        else:
            points = self._decimal(raw, "points", where, positive=True) or Decimal(0)
        per = deduction = None
        tiers: tuple[Tier, ...] = ()
        if mode == "deduct":
            per = self._decimal(raw, "per", where, positive=True)
            if per is not None and points and per > points:
                self.error(f"{where}.per", f"每处扣分 {per} 大于本项分值 {points}")
        elif "per" in raw:
            self.error(f"{where}.per", "只有 deduct 项目使用 per")
        if mode == "fixed":
            deduction = self._decimal(raw, "deduction", where, positive=True)
            if deduction is not None and points and deduction > points:
                self.error(f"{where}.deduction", f"固定扣分 {deduction} 大于本项分值 {points}")
        elif "deduction" in raw:
            self.error(f"{where}.deduction", "只有 fixed 项目使用 deduction")
        if mode == "tiered":
            tiers = self._tiers(raw.get("tiers"), f"{where}.tiers", points)
        elif "tiers" in raw:
            self.error(f"{where}.tiers", "只有 tiered 项目使用 tiers")
        critical = self._critical(raw.get("critical"), f"{where}.critical", mode)
        na = self._bool(raw, "na", where)
        if not (key and text):
            return None
        return Item(
            key=key,
            text=text,
            mode=mode,
            section=section,
            points=points,
            standard=str(raw.get("standard", "") or "").strip(),
            per=per,
            deduction=deduction,
            tiers=tiers,
            na=na,
            critical=critical,
        )

    def _tiers(self, raw: object, where: str, points: Decimal) -> tuple[Tier, ...]:
        if not isinstance(raw, list) or len(raw) < 2:
            self.error(
                where,
                "分档评分至少应有两档，如 [{label: 符合， points: 4}， {label: 不符合， points: 0}]",
            )
            return ()
        tiers: list[Tier] = []
        for index, entry in enumerate(raw, start=1):
            w = f"{where}[{index}]"
            if not isinstance(entry, Mapping) or set(entry) - {"label", "points"}:
                self.error(w, "每档应只包含 label 和 points")
                continue
            label = self._text(entry, "label", w, "档次名称")
            value = self._decimal(entry, "points", w)
            if value is not None and not Decimal(0) <= value <= points:
                self.error(f"{w}.points", f"档次得分 {value} 应在 0 到本项分值 {points} 之间")
            if label in (NA,):
                self.error(f"{w}.label", "“不适用”由 na: true 表示，不作为档次")
            if label and value is not None:
                tiers.append(Tier(label, value))
        labels = [t.label for t in tiers]
        if len(set(labels)) != len(labels):
            self.error(where, "档次名称重复")
        if tiers and max(t.points for t in tiers) != points:
            self.error(where, f"最高档得分应等于本项分值 {points}")
        if tiers and min(t.points for t in tiers) == points:
            self.error(where, "至少应有一档低于满分")
        return tuple(tiers)

    def _critical(self, raw: object, where: str, mode: str) -> Critical | None:
        if raw is None:
            return None
        if mode == "check":
            self.error(where, "check 项目不计分，不能设为否决项")
            return None
        if not isinstance(raw, Mapping) or raw.get("effect") not in CRITICAL_EFFECTS:
            self.error(where, "否决项应写成 {effect: fail} 或 {effect: deduct, points: 10}")
            return None
        effect = raw["effect"]
        if effect == "deduct":
            points = self._decimal(raw, "points", where, positive=True)
            return Critical(effect, points or Decimal(0))
        if "points" in raw:
            self.error(f"{where}.points", "一票否决（fail）不使用 points")
        return Critical(effect)

    # Scoring -----------------------------------------------------------------

    def scoring(self, raw: object, sections: list[Section]) -> Scoring | None:
        scored = any(i.scored for s in sections for i in s.items)
        if raw is None:
            if scored:
                self.error("scoring", "有计分项目的检查表必须填写 scoring（总分、等级）")
            return None
        if not scored:
            self.error("scoring", "没有计分项目的表不应填写 scoring")
            return None
        if not isinstance(raw, Mapping):
            self.error("scoring", "scoring 应包含 total、na、bands")
            return None
        self._unknown(raw, SCORING_ATTRS, "scoring")
        total = self._decimal(raw, "total", "scoring", positive=True)
        points = sum((s.points for s in sections), Decimal(0))
        if total is not None and points != total:
            self.error(
                "scoring.total", f"各项目分值合计 {_fmt(points)}，与总分 {_fmt(total)} 不一致"
            )
        na = raw.get("na", "exclude")
        if na not in NA_RULES:
            self.error("scoring.na", f"不适用项计分规则应为 {' 或 '.join(NA_RULES)}")
        bands = self._bands(raw.get("bands"), total)
        adjustments = self._adjustments(raw.get("adjustments"))
        downgrade = self._conditions(raw.get("downgrade"), {a.key for a in adjustments})
        if total is None:
            return None
        return Scoring(total, na, bands, adjustments, downgrade)

    def _bands(self, raw: object, total: Decimal | None) -> tuple[Band, ...]:
        where = "scoring.bands"
        if not isinstance(raw, list) or not raw:
            self.error(
                where,
                "应列出等级及最低分，如 [{grade: 优秀， min: 90}， …， {grade: 不合格， min: 0}]",
            )
            return ()
        bands: list[Band] = []
        for index, entry in enumerate(raw, start=1):
            w = f"{where}[{index}]"
            if not isinstance(entry, Mapping) or set(entry) - {"grade", "min"}:
                self.error(w, "每个等级应只包含 grade 和 min")
                continue
            grade = self._text(entry, "grade", w, "等级名称")
            low = self._decimal(entry, "min", w)
            if grade and low is not None:
                bands.append(Band(grade, low))
        for before, after in zip(bands, bands[1:], strict=False):
            if after.min >= before.min:
                self.error(
                    where,
                    f"等级应按最低分从高到低排列：{before.grade} {before.min} 之后是 {after.grade} {after.min}",
                )
        if bands and bands[-1].min != 0:
            self.error(where, "最低一档的 min 应为 0，使任何得分都有等级")
        if bands and total is not None and bands[0].min > total:
            self.error(where, f"最高等级的最低分 {bands[0].min} 超过总分 {total}")
        if len({b.grade for b in bands}) != len(bands):
            self.error(where, "等级名称重复")
        return tuple(bands)

    def _adjustments(self, raw: object) -> tuple[Adjustment, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.error("scoring.adjustments", "加减分项应为列表")
            return ()
        out: list[Adjustment] = []
        seen: set[str] = set()
        for index, entry in enumerate(raw, start=1):
            w = f"scoring.adjustments[{index}]"
            if not isinstance(entry, Mapping):
                self.error(w, "加减分项应包含 key、label、points")
                continue
            self._unknown(entry, {"key", "label", "points", "max_times"}, w)
            key = self._key(entry, w, seen)
            label = self._text(entry, "label", w, "加减分项名称")
            value = self._decimal(entry, "points", w)
            if value == 0:
                self.error(f"{w}.points", "加减分不能为 0（加分为正，扣分为负）")
            times = entry.get("max_times", 1)
            if not isinstance(times, int) or isinstance(times, bool) or times < 1:
                self.error(f"{w}.max_times", "最多次数应为正整数")
                times = 1
            if key and label and value:
                out.append(Adjustment(key, label, value, times))
        return tuple(out)

    def _conditions(self, raw: object, taken: set[str]) -> tuple[Condition, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.error("scoring.downgrade", "降档条件应为列表")
            return ()
        out: list[Condition] = []
        seen = set(taken)
        for index, entry in enumerate(raw, start=1):
            w = f"scoring.downgrade[{index}]"
            if not isinstance(entry, Mapping):
                self.error(w, "降档条件应包含 key、label")
                continue
            self._unknown(entry, {"key", "label"}, w)
            key = self._key(entry, w, seen)
            label = self._text(entry, "label", w, "降档条件")
            if key and label:
                out.append(Condition(key, label))
        return tuple(out)

    # Helpers -----------------------------------------------------------------

    def _unknown(self, entry: Mapping, allowed: Iterable[str], where: str) -> None:
        for key in entry:
            if key not in allowed:
                self.error(f"{where}.{key}", f"未知属性“{key}”")

    def _key(self, entry: Mapping, where: str, seen: set[str]) -> str:
        key = entry.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            self.error(
                f"{where}.key",
                f"key {key!r} 无效：应为小写英文字母开头，只含小写字母、数字和下划线",
            )
            return ""
        if key in seen:
            self.error(f"{where}.key", f"key“{key}”重复")
            return ""
        seen.add(key)
        return key

    def _text(self, entry: Mapping, name: str, where: str, label: str) -> str:
        value = entry.get(name)
        if not isinstance(value, str) or not value.strip():
            self.error(f"{where}.{name}", f"缺少{label}")
            return ""
        return value.strip()

    def _bool(self, entry: Mapping, name: str, where: str) -> bool:
        value = entry.get(name, False)
        if not isinstance(value, bool):
            self.error(f"{where}.{name}", f"{name} 应为 true 或 false")
            return False
        return value

    def _decimal(
        self, entry: Mapping, name: str, where: str, positive: bool = False
    ) -> Decimal | None:
        value = entry.get(name)
        number = to_decimal(value)
        if number is None:
            self.error(f"{where}.{name}", f"{name} 应为数字，实际为 {value!r}")
            return None
        if positive and number <= 0:
            self.error(f"{where}.{name}", f"{name} 应大于 0")
            return None
        return number

    def _options(self, raw: object, where: str) -> tuple[str, ...]:
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(o, str) and o.strip() for o in raw)
        ):
            self.error(where, "选项应为非空的文字列表")
            return ()
        options = tuple(o.strip() for o in raw)
        if len(set(options)) != len(options):
            self.error(where, "选项重复")
        return options


def to_decimal(value: object) -> Decimal | None:
    """A YAML/JSON number as an exact Decimal (0.2 stays 0.2); None if not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):  # noqa: UP038 (faster)
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):  # ValueError: an int past Python's 4300-digit limit
        return None
    return number if number.is_finite() else None


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
