"""QP-11 质量考核与绩效挂钩: the seeds' rules as pure functions of plain numbers.

Interpretations (stated in QP-11 §4.2 and §4.9, and tested at every boundary):

* The seed gives B for 1–3 serious nonconformities and C for 3 or more; the two
  overlap at 3, so 3+ is C and 1–2 is B.
* "一般不合格项数量较少" (few general nonconformities) means at most 5; none
  serious and more than 5 general is B.
* The seed is silent on exactly 60% and exactly 80%: both are B (C is *below*
  60%, A is *above* 80%). Rates are compared as exact fractions, never rounded.
* A month with nothing due for re-inspection counts as 100% (A by that rule).
* The worse of the two rules gives the month's grade.
* Two consecutive A (adjacent calendar months) → 110% pay in the second month,
  then counting starts again; two consecutive C → the management
  representative decides; counting likewise starts again.
* Pay bands for heads: ≥95 +10%; [90, 95) +5%; [80, 90) no change (the seed
  names none); [75, 80) −5%; <75 −10%.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

FULL_SCORE, PASS_SCORE, ZERO_SCORE = 100, 60, 0
SCORE_OF = {"A": FULL_SCORE, "B": PASS_SCORE, "C": ZERO_SCORE}
SERIOUS_FOR_C = 3
GENERAL_FEW = 5
RATE_C_BELOW = Fraction(60, 100)
RATE_A_ABOVE = Fraction(80, 100)


@dataclass(frozen=True)
class MonthlyGrade:
    grade: str
    score: int  # 品质管理绩效考核分
    by_count: str
    by_rate: str
    rate: Fraction | None


def grade_by_count(serious: int, general: int) -> str:
    if serious >= SERIOUS_FOR_C:
        return "C"
    if serious >= 1 or general > GENERAL_FEW:
        return "B"
    return "A"


def grade_by_rate(rate: Fraction | None) -> str:
    if rate is None or rate > RATE_A_ABOVE:
        return "A"
    if rate < RATE_C_BELOW:
        return "C"
    return "B"


def worse(a: str, b: str) -> str:
    return max(a, b)  # "A" < "B" < "C"


def monthly_grade(serious: int, general: int, rate: Fraction | None) -> MonthlyGrade:
    by_count, by_rate = grade_by_count(serious, general), grade_by_rate(rate)
    grade = worse(by_count, by_rate)
    return MonthlyGrade(grade, SCORE_OF[grade], by_count, by_rate, rate)


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def consecutive_flags(grades: dict[str, str]) -> dict[str, str]:
    """Months whose grade completes a pair: '110%' (two A) or '管理者代表处理' (two C)."""
    flags: dict[str, str] = {}
    streak_grade, streak = None, 0
    previous = None
    for month in sorted(grades):
        grade = grades[month]
        adjacent = previous is not None and next_month(previous) == month
        if adjacent and grade == streak_grade:
            streak += 1
        else:
            streak_grade, streak = grade, 1
        if streak == 2 and grade in ("A", "C"):
            flags[month] = "110%" if grade == "A" else "管理者代表处理"
            streak_grade, streak = None, 0  # counting starts again after a pair
        previous = month
    return flags


def pay_adjustment(score: Decimal | float | None) -> int | None:
    """Percent change of a head's monthly pay for an assessment score."""
    if score is None:
        return None
    value = Decimal(str(score))
    if value >= 95:
        return 10
    if value >= 90:
        return 5
    if value >= 80:
        return 0
    if value >= 75:
        return -5
    return -10


def average(scores: list) -> Decimal | None:
    """Mean of assessors' (or projects') scores, two decimals, half up."""
    if not scores:
        return None
    total = sum((Decimal(str(s)) for s in scores), Decimal(0))
    return (total / len(scores)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
