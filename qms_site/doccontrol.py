"""Document-control rules for controlled documents.

Pure Python: no MkDocs import, so tests, the forms server and other tools can
run the same rules the site build runs. Every check returns `Problem`s instead
of raising, so a build can report every defect at once.

The rules follow the company's 文件控制程序 (QP-01): every controlled document
carries its code, title, version (``A/0``: letter = edition, digit =
modification), status, owner, the people who prepared, reviewed and approved
it, its effective and next-review dates, the codes it references, the records
it requires, and its revision list.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Constants -------------------------------------------------------------------

DRAFT, IN_REVIEW, EFFECTIVE, OBSOLETE = "草稿", "审核中", "受控", "作废"
STATUSES = (DRAFT, IN_REVIEW, EFFECTIVE, OBSOLETE)

#: Document types in register order, keyed by code prefix.
DOC_TYPES: dict[str, str] = {
    "QM": "质量手册",
    "QP": "程序文件",
    "WI": "作业指导书",
    "QR": "记录表格",
}

CODE_RE = re.compile(r"^(QM-\d{2}|QP-\d{2}|WI-[A-Z][A-Z0-9]*-\d{2}|QR-\d{2}-\d{2})$")
VERSION_RE = re.compile(r"^([A-Z])/(\d{1,2})$")

#: Front-matter fields of a controlled document, with their Chinese names.
FIELDS: dict[str, str] = {
    "code": "文件编号",
    "title": "文件名称",
    "version": "版本号",
    "status": "状态",
    "owner": "归口部门",
    "prepared_by": "编制",
    "reviewed_by": "审核",
    "approved_by": "批准",
    "effective": "生效日期",
    "review_due": "下次评审日期",
    "references": "引用文件",
    "records": "相关记录",
    "revisions": "修订记录",
    "withdrawn_on": "作废日期",
    "withdrawn_reason": "作废原因",
    "superseded_by": "替代文件",
}
REQUIRED = ("code", "title", "version", "status", "owner", "prepared_by", "revisions")
#: Extra requirements once a document is effective (受控).
REQUIRED_WHEN_EFFECTIVE = ("reviewed_by", "approved_by", "effective", "review_due")
REVISION_FIELDS: dict[str, str] = {
    "version": "版本号",
    "date": "日期",
    "summary": "修订内容",
    "prepared_by": "编制",
    "approved_by": "批准",
}

# Data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One defect found in one file, naming the field it concerns."""

    path: str
    field: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}"


@dataclass(frozen=True)
class Revision:
    version: str
    date: dt.date
    summary: str
    approved_by: str = ""
    prepared_by: str = ""


@dataclass
class Document:
    """A controlled document, as declared by its metadata."""

    path: str  # where the metadata lives, relative to the project (for messages)
    code: str
    title: str
    version: str
    status: str
    owner: str
    prepared_by: str
    reviewed_by: str = ""
    approved_by: str = ""
    effective: dt.date | None = None
    review_due: dt.date | None = None
    references: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    revisions: list[Revision] = field(default_factory=list)
    withdrawn_on: dt.date | None = None
    withdrawn_reason: str = ""
    superseded_by: str = ""
    #: The page that shows the document, relative to the docs folder.
    src: str = ""

    @property
    def type_code(self) -> str:
        return self.code.split("-", 1)[0]

    @property
    def type_name(self) -> str:
        return DOC_TYPES[self.type_code]

    @property
    def latest(self) -> Revision | None:
        return self.revisions[-1] if self.revisions else None

    def is_pending(self, today: dt.date) -> bool:
        """Approved and effective in status, but its effective date is still ahead."""
        return self.status == EFFECTIVE and self.effective is not None and self.effective > today

    def is_overdue(self, today: dt.date) -> bool:
        return self.status == EFFECTIVE and self.review_due is not None and self.review_due < today


# Parsing one document --------------------------------------------------------


def version_key(version: str) -> tuple[str, int]:
    """Sort key for ``A/0`` style versions: edition letter first, then modification."""
    match = VERSION_RE.match(version)
    if not match:
        raise ValueError(f"not a version: {version!r}")
    return match.group(1), int(match.group(2))


def parse_document(
    path: str, meta: Mapping[str, object], extra_keys: Iterable[str] = ()
) -> tuple[Document | None, list[Problem]]:
    """Validate one document's metadata; return the document and its problems.

    The document is None only when its code is missing or malformed.

    ``extra_keys`` are keys that another layer owns (for example the fields of a
    form definition); any other unknown key is an error, so a typo never lands
    silently in a page.
    """
    problems: list[Problem] = []

    def problem(field_name: str, message: str) -> None:
        problems.append(Problem(path, field_name, message))

    allowed = set(FIELDS) | set(extra_keys)
    for key in meta:
        if key not in allowed:
            problem(str(key), f"未知字段“{key}”（允许的字段：{'、'.join(FIELDS)}）")

    for key in REQUIRED:
        if _blank(meta.get(key)):
            problem(key, f"缺少必填字段“{FIELDS[key]}”")

    code = _text(meta.get("code"))
    if code and not CODE_RE.match(code):
        problem("code", f"文件编号“{code}”格式不正确，应如 QM-01、QP-07、WI-QP07-01、QR-07-01")

    version = _text(meta.get("version"))
    if version and not VERSION_RE.match(version):
        problem("version", f"版本号“{version}”格式不正确，应如 A/0（字母为版次，数字为修改次数）")

    status = _text(meta.get("status"))
    if status and status not in STATUSES:
        problem("status", f"状态“{status}”无效，应为 {'/'.join(STATUSES)} 之一")

    for key in ("title", "owner", "prepared_by", "reviewed_by", "approved_by", "withdrawn_reason"):
        value = meta.get(key)
        if value is not None and not isinstance(value, str):
            problem(key, f"“{FIELDS[key]}”应为文字，实际为 {value!r}")

    dates: dict[str, dt.date | None] = {}
    for key in ("effective", "review_due", "withdrawn_on"):
        dates[key] = _date(meta.get(key), lambda msg, k=key: problem(k, msg), FIELDS[key])

    lists: dict[str, list[str]] = {}
    for key in ("references", "records"):
        lists[key] = _code_list(meta.get(key), lambda msg, k=key: problem(k, msg), FIELDS[key])

    superseded_by = _text(meta.get("superseded_by"))
    if superseded_by and not CODE_RE.match(superseded_by):
        problem("superseded_by", f"替代文件编号“{superseded_by}”格式不正确")

    revisions = _revisions(meta.get("revisions"), problem)

    if status == EFFECTIVE:
        for key in REQUIRED_WHEN_EFFECTIVE:
            if _blank(meta.get(key)):
                problem(key, f"受控文件必须填写“{FIELDS[key]}”")
    if status == OBSOLETE:
        for key in ("withdrawn_on", "withdrawn_reason"):
            if _blank(meta.get(key)):
                problem(key, f"作废文件必须填写“{FIELDS[key]}”")

    if status in (EFFECTIVE, OBSOLETE) and revisions and version and VERSION_RE.match(version):
        latest = revisions[-1]
        if latest.version != version:
            problem(
                "revisions",
                f"最新一条修订记录的版本号为 {latest.version}，与文件版本号 {version} 不一致",
            )
    effective, review_due = dates["effective"], dates["review_due"]
    if effective and review_due and review_due <= effective:
        problem("review_due", f"下次评审日期 {review_due} 不晚于生效日期 {effective}")

    # Keep a document whose code is usable even when other fields are wrong, so
    # that the cross-document rules still run and every problem is reported at once.
    if not code or not CODE_RE.match(code):
        return None, problems
    return (
        Document(
            path=path,
            code=code,
            title=_text(meta.get("title")),
            version=version,
            status=status,
            owner=_text(meta.get("owner")),
            prepared_by=_text(meta.get("prepared_by")),
            reviewed_by=_text(meta.get("reviewed_by")),
            approved_by=_text(meta.get("approved_by")),
            effective=effective,
            review_due=review_due,
            references=lists["references"],
            records=lists["records"],
            revisions=revisions,
            withdrawn_on=dates["withdrawn_on"],
            withdrawn_reason=_text(meta.get("withdrawn_reason")),
            superseded_by=superseded_by,
        ),
        problems,
    )


def _revisions(value: object, problem) -> list[Revision]:
    if value is None:
        return []
    if not isinstance(value, list) or not value:
        problem("revisions", "修订记录应为非空列表，每项包含 version、date、summary、approved_by")
        return []
    revisions: list[Revision] = []
    for index, entry in enumerate(value, start=1):
        where = f"revisions[{index}]"
        if not isinstance(entry, Mapping):
            problem(where, f"第 {index} 条修订记录应为包含 version、date、summary 的条目")
            continue
        ok = True
        for key in entry:
            if key not in REVISION_FIELDS:
                problem(f"{where}.{key}", f"修订记录中的未知字段“{key}”")
                ok = False
        version = _text(entry.get("version"))
        if not version:
            problem(f"{where}.version", f"第 {index} 条修订记录缺少版本号")
            ok = False
        elif not VERSION_RE.match(version):
            problem(f"{where}.version", f"第 {index} 条修订记录的版本号“{version}”格式不正确")
            ok = False
        if _blank(entry.get("summary")):
            problem(f"{where}.summary", f"第 {index} 条修订记录缺少修订内容")
            ok = False

        def date_problem(msg: str, w: str = where) -> None:
            problem(f"{w}.date", msg)

        date = _date(entry.get("date"), date_problem, "日期")
        if date is None:
            if entry.get("date") is None:
                problem(f"{where}.date", f"第 {index} 条修订记录缺少日期")
            ok = False
        if ok:
            revisions.append(
                Revision(
                    version=version,
                    date=date,  # type: ignore[arg-type]
                    summary=_text(entry.get("summary")),
                    approved_by=_text(entry.get("approved_by")),
                    prepared_by=_text(entry.get("prepared_by")),
                )
            )
    for before, after in zip(revisions, revisions[1:], strict=False):
        if version_key(after.version) <= version_key(before.version):
            problem(
                "revisions", f"修订记录应按版本递增排列：{before.version} 之后是 {after.version}"
            )
        if after.date < before.date:
            problem("revisions", f"修订记录日期应按时间顺序排列：{before.date} 之后是 {after.date}")
    return revisions


# Checking the whole set ------------------------------------------------------


def check_catalog(
    documents: Iterable[Document], today: dt.date, overdue_is_error: bool = False
) -> list[Problem]:
    """Rules that need every document: unique codes, resolvable references, review dates."""
    documents = list(documents)
    problems: list[Problem] = []
    by_code: dict[str, list[Document]] = {}
    for doc in documents:
        by_code.setdefault(doc.code, []).append(doc)
    for code, docs in by_code.items():
        if len(docs) > 1:
            paths = "、".join(d.path for d in docs)
            for doc in docs:
                problems.append(Problem(doc.path, "code", f"文件编号 {code} 重复：{paths}"))

    for doc in documents:
        for ref in doc.references:
            target = by_code.get(ref)
            if ref == doc.code:
                problems.append(Problem(doc.path, "references", "文件不应引用自身"))
            elif not target:
                problems.append(Problem(doc.path, "references", f"引用的文件 {ref} 不存在"))
            elif doc.status == EFFECTIVE and target[0].status == OBSOLETE:
                problems.append(
                    Problem(doc.path, "references", f"受控文件引用了已作废的文件 {ref}")
                )
        for rec in doc.records:
            target = by_code.get(rec)
            if not rec.startswith("QR-"):
                problems.append(
                    Problem(doc.path, "records", f"{rec} 不是记录表格编号（应以 QR- 开头）")
                )
            elif not target:
                problems.append(Problem(doc.path, "records", f"要求的记录 {rec} 不存在"))
        if doc.superseded_by and doc.superseded_by not in by_code:
            problems.append(
                Problem(doc.path, "superseded_by", f"替代文件 {doc.superseded_by} 不存在")
            )
        if doc.is_overdue(today):
            problems.append(
                Problem(
                    doc.path,
                    "review_due",
                    f"已超过下次评审日期 {doc.review_due}，请组织评审并更新",
                    "error" if overdue_is_error else "warning",
                )
            )
    return problems


# Helpers ---------------------------------------------------------------------


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _date(value: object, problem, label: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    problem(f"“{label}”的值 {value!r} 不是有效日期，应写成 2026-03-01 的形式")
    return None


def _code_list(value: object, problem, label: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problem(f"“{label}”应为文件编号列表")
        return []
    codes: list[str] = []
    for item in value:
        if not isinstance(item, str) or not CODE_RE.match(item.strip()):
            problem(f"“{label}”中的 {item!r} 不是有效的文件编号")
            continue
        codes.append(item.strip())
    return codes
