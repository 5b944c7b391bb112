"""Checklist scoring: a pure function from a definition and validated answers to a score.

Scores are never typed by a user. The order of computation is fixed and
documented in the format guide (WI-QP02-01):

1. Each item: pass_fail → full or 0; fixed → full or full − deduction; tiered →
   the tier's points; deduct → full − count × per, never below 0; check → no points.
2. N/A items: ``na: exclude`` scales the earned points to the total over the
   applicable items only; ``na: full`` counts them at full marks.
3. Critical items that fail: ``deduct`` takes its extra points off the total;
   ``fail`` sets the score to 0 (一票否决).
4. Bonus and penalty adjustments are added; the result is kept within 0 and the
   total (bonuses never raise a score above full marks).
5. The score is rounded to two decimals and graded by the bands; any downgrade
   condition moves the grade down one band; a critical failure gives the lowest band.

An item scoring below its points is a nonconformity (一般 unless marked 严重;
a failing critical item is always 严重).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from forms_server.definitions import FAIL, NA, NONCONFORM, FormDef, Item

SERIOUS, GENERAL = "严重", "一般"
CENT = Decimal("0.01")
ZERO = Decimal(0)
_NONCONFORMING = 5  # the place of the flag in a `Result.rows` row


@dataclass  # not frozen: one per item of every submission, frozen init is slow
class ItemAnswer:
    result: str | None = None  # a choice of the item, or 不适用
    count: int | None = None  # deduct items: occurrences found
    severity: str | None = None  # 一般 / 严重 when the inspector marks it
    note: str = ""
    location: str = ""
    photos: tuple[str, ...] = ()


@dataclass(slots=True)  # not frozen: one per item of every submission, frozen init is slow
class ItemResult:
    key: str
    section: str
    text: str
    points: Decimal
    score: Decimal | None  # None: not applicable, or a check item
    na: bool
    nonconforming: bool
    severity: str | None
    note: str = ""
    location: str = ""
    photos: tuple[str, ...] = ()


@dataclass(frozen=True)
class SectionResult:
    key: str
    title: str
    earned: Decimal
    applicable: Decimal
    points: Decimal


@dataclass
class Result:
    total: Decimal | None
    earned: Decimal = Decimal(0)
    applicable: Decimal = Decimal(0)
    base: Decimal | None = None
    critical_deduction: Decimal = Decimal(0)
    adjustment: Decimal = Decimal(0)
    score: Decimal | None = None
    grade: str | None = None
    failed: bool = False
    downgraded: bool = False
    sections: list[SectionResult] = field(default_factory=list)
    #: One row per item, (item, section title, answer, score, na, nonconforming, severity):
    #: made into `ItemResult`s only when asked for (a submission's answer needs only its
    #: nonconformities).
    rows: list[tuple] = field(default_factory=list, repr=False)

    @cached_property
    def items(self) -> list[ItemResult]:
        return [_item_result(*row) for row in self.rows]

    @cached_property
    def nonconformities(self) -> list[ItemResult]:
        return [_item_result(*row) for row in self.rows if row[_NONCONFORMING]]

    def count(self, severity: str) -> int:
        return sum(1 for i in self.nonconformities if i.severity == severity)

    def to_dict(self) -> dict:
        """JSON-ready summary (numbers as floats rounded to two decimals)."""
        nonconformities = self.nonconformities
        return {
            "total": _num(self.total),
            "score": _num(self.score),
            "grade": self.grade,
            "failed": self.failed,
            "downgraded": self.downgraded,
            "earned": _num(self.earned),
            "applicable": _num(self.applicable),
            "critical_deduction": _num(self.critical_deduction),
            "adjustment": _num(self.adjustment),
            "sections": [
                {
                    "key": s.key,
                    "title": s.title,
                    "earned": _num(s.earned),
                    "applicable": _num(s.applicable),
                }
                for s in self.sections
            ],
            "nonconformities": [
                {
                    "item": i.key,
                    "section": i.section,
                    "text": i.text,
                    "severity": i.severity,
                    "score": _num(i.score),
                    "points": _num(i.points),
                    "note": i.note,
                    "location": i.location,
                    "photos": list(i.photos),
                }
                for i in nonconformities
            ],
            "serious": sum(1 for i in nonconformities if i.severity == SERIOUS),
            "general": sum(1 for i in nonconformities if i.severity == GENERAL),
        }


def item_score(item: Item, answer: ItemAnswer) -> Decimal | None:
    """Points earned by one item; None when not applicable or not scored."""
    if answer.result == NA or not item.scored:
        return None
    if item.mode == "deduct":
        return max(ZERO, item.points - (answer.count or 0) * (item.per or ZERO))
    if item.mode == "tiered":
        return next(t.points for t in item.tiers if t.label == answer.result)
    if answer.result == FAIL:
        return item.points - item.deduction if item.mode == "fixed" and item.deduction else ZERO
    return item.points


def score(form: FormDef, items: dict[str, ItemAnswer], adjustments: dict[str, int] | None = None,
          downgrade: dict[str, bool] | None = None) -> Result:  # fmt: skip
    """Score a checklist. ``items`` must answer every item (validation guarantees it)."""
    adjustments = adjustments or {}
    downgrade = downgrade or {}
    scoring = form.scoring
    result = Result(total=scoring.total if scoring else None)
    na_points = ZERO
    all_earned = all_applicable = ZERO

    append = result.rows.append
    blank = ItemAnswer()
    for section in form.sections:
        earned = applicable = ZERO
        title = section.title
        for item in section.items:
            answer = items.get(item.key) or blank
            value = item_score(item, answer)
            if value is not None:
                earned += value
                applicable += item.points
                nonconforming = value < item.points
                na = False
            else:
                na = answer.result == NA
                if na:
                    na_points += item.points
                nonconforming = not item.scored and answer.result == NONCONFORM
            severity = None
            if nonconforming:
                critical = item.critical
                severity = SERIOUS if critical else (answer.severity or GENERAL)
                if critical and critical.effect == "fail":
                    result.failed = True
                elif critical:
                    result.critical_deduction += critical.points
            append((item, title, answer, value, na, nonconforming, severity))
        result.sections.append(
            SectionResult(section.key, title, earned, applicable, section.points)
        )
        all_earned += earned
        all_applicable += applicable
    result.earned, result.applicable = all_earned, all_applicable

    if scoring is None:
        return result

    if scoring.na == "full":
        base = result.earned + na_points
    elif result.applicable:
        base = result.earned / result.applicable * scoring.total
    else:
        base = scoring.total
    result.base = base
    result.adjustment = sum(
        (a.points * adjustments.get(a.key, 0) for a in scoring.adjustments), Decimal(0)
    )
    value = base - result.critical_deduction + result.adjustment
    value = min(max(value, Decimal(0)), scoring.total)
    if result.failed:
        value = Decimal(0)
    result.score = value.quantize(CENT, rounding=ROUND_HALF_UP)

    bands = scoring.bands
    index = next(i for i, band in enumerate(bands) if result.score >= band.min)
    if result.failed:
        index = len(bands) - 1
    elif any(downgrade.get(c.key) for c in scoring.downgrade):
        result.downgraded = index < len(bands) - 1
        index = min(index + 1, len(bands) - 1)
    result.grade = bands[index].grade
    return result


def _item_result(item: Item, section: str, answer: ItemAnswer, value: Decimal | None, na: bool,
                 nonconforming: bool, severity: str | None) -> ItemResult:  # fmt: skip
    return ItemResult(item.key, section, item.text, item.points, value, na, nonconforming, severity,
                      answer.note, answer.location, answer.photos)  # fmt: skip


def _num(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return int(rounded) if rounded == rounded.to_integral() else float(rounded)
