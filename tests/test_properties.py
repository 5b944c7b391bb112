"""Properties of validation and scoring over every real form definition in data/forms/.

Any JSON-like input, however malformed, gives either clean values that score within
[0, total] or errors whose paths name a field (``fields.phone``, ``items.a1.count``) with
a Chinese message; never an exception. Example counts follow the hypothesis profile
(``HYPOTHESIS_PROFILE=thorough`` for a longer search; see tests/conftest.py).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_server import config
from forms_server.definitions import (
    NA,
    NONCONFORM,
    PASS,
    SEVERITIES,
    Field,
    FormDef,
    Item,
    load_dir,
)
from forms_server.records import _answer
from forms_server.scoring import ItemAnswer, item_score, score
from forms_server.validation import (
    COUNT_MAX,
    ITEM_KEYS,
    TOP_KEYS,
    Clean,
    _item,
    _plain_answer,
    validate,
)
from tests.sitekit import ROOT

LOADED = load_dir(ROOT / "data" / "forms", ROOT)
FORMS = LOADED.forms
CODES = sorted(FORMS)
CHECKLISTS = [code for code in CODES if FORMS[code].is_checklist]
PROJECTS = config.load(ROOT / "data" / "qms.yml").project_names()
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Parametrized over 85 forms: a tenth of the profile's examples for each form
# (ci: 5 each, 425 per property and run; thorough: 100 each).
PER_FORM = settings(
    max_examples=max(5, settings.default.max_examples // 10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_real_definition_is_loaded():
    assert LOADED.problems == []
    assert len(FORMS) == len(list((ROOT / "data" / "forms").glob("*.yml"))) == 85
    assert len(CHECKLISTS) == 26


# Valid answers ---------------------------------------------------------------

DIGIT = st.sampled_from("0123456789")
HEX32 = st.text("0123456789abcdef", min_size=32, max_size=32)
# Printable text: no control characters (the validator refuses them) and no lone surrogates.
CHAR = st.characters(blacklist_categories=("Cc", "Cs"))


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(DIGIT, min_size=n, max_size=n)


def _line(limit: int, multiline: bool = False) -> st.SearchStrategy[str]:
    alphabet = st.one_of(CHAR, st.just("\n")) if multiline else CHAR
    return st.text(alphabet, min_size=1, max_size=min(limit, 40)).filter(lambda s: s.strip())


PHONES = st.one_of(
    st.builds(lambda a, b: f"1{a}{b}", st.sampled_from("3456789"), _digits(9)),
    st.builds(lambda a, s, b: f"0{a}{s}{b}", _digits(3), st.sampled_from(["", "-"]),
              st.builds(lambda c, d: c + d, st.sampled_from("23456789"), _digits(7))),
    st.builds(lambda p, b: f"{p}-{b[:3]}-{b[3:]}", st.sampled_from(["400", "800"]), _digits(7)),
)  # fmt: skip


def _number(spec: Field) -> st.SearchStrategy[object]:
    low = spec.min if spec.min is not None else Decimal(-(10**6))
    high = spec.max if spec.max is not None else Decimal(10**6)
    places = 0 if spec.integer else 2
    decimals = st.decimals(low, high, places=places, allow_nan=False, allow_infinity=False)
    return decimals.flatmap(
        lambda d: st.sampled_from([str(d), int(d) if d == d.to_integral() else float(d)])
    )


def field_value(spec: Field) -> st.SearchStrategy[object]:
    """A value the definition accepts for this header field."""
    kind = spec.type
    if kind in ("text", "location", "person", "signature"):
        return _line(spec.max_length)
    if kind == "textarea":
        return _line(spec.max_length, multiline=True)
    if kind == "number":
        return _number(spec)
    if kind == "date":
        return st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)).map(str)
    if kind == "time":
        return st.times().map(lambda t: t.strftime("%H:%M"))
    if kind == "choice":
        return st.sampled_from(spec.options)
    if kind == "multichoice":
        return st.lists(st.sampled_from(spec.options), min_size=1, unique=True)
    if kind == "project":
        return st.sampled_from(sorted(PROJECTS))
    if kind == "phone":
        return PHONES
    if kind == "yesno":
        return st.sampled_from([True, False, "是", "否", "yes", "no", "1", "0"])
    if kind == "photo":
        return st.lists(HEX32, min_size=1, max_size=spec.max_files, unique=True)
    raise AssertionError(f"no strategy for field type {kind}")


def _failing(item: Item, raw: dict) -> bool:
    count = raw.get("count")
    answer = ItemAnswer(result=raw.get("result"), count=int(count) if count is not None else None)
    value = item_score(item, answer)
    return (value is not None and value < item.points) or (
        not item.scored and answer.result == NONCONFORM
    )


@st.composite
def item_answer(draw, item: Item, allow_na: bool = True) -> object:
    """A rating the item accepts: a result or a count, sometimes with severity, note, photos."""
    na = allow_na and item.na and draw(st.booleans())
    if na:
        raw: dict = {"result": NA}
    elif item.mode == "deduct":
        count = draw(st.integers(0, 999))
        raw = {"count": draw(st.sampled_from([count, str(count)]))}
    else:
        raw = {"result": draw(st.sampled_from([c for c in item.choices() if c != NA]))}
    if not na and _failing(item, raw) and draw(st.booleans()):
        raw["severity"] = "严重" if item.critical else draw(st.sampled_from(SEVERITIES))
    if draw(st.booleans()):
        raw["note"] = draw(_line(500, multiline=True))
    if draw(st.booleans()):
        raw["location"] = draw(_line(100))
    if draw(st.booleans()):
        raw["photos"] = draw(st.lists(HEX32, max_size=3, unique=True))
    if set(raw) == {"result"} and draw(st.booleans()):
        return raw["result"]  # the short form: "合格" instead of {"result": "合格"}
    return raw


@st.composite
def valid_submission(draw, form: FormDef) -> dict:
    """A submission the form accepts: every required field, every item rated."""
    fields = {}
    for spec in form.fields:
        if spec.required or draw(st.booleans()):
            fields[spec.key] = draw(field_value(spec))
        elif draw(st.booleans()):
            fields[spec.key] = draw(st.sampled_from(["", None, []]))
    data: dict = {"fields": fields}
    if not form.is_checklist:
        return data
    # At least one item must be applicable.
    applicable = draw(st.sampled_from([i.key for i in form.items]))
    data["items"] = {
        item.key: draw(item_answer(item, allow_na=item.key != applicable)) for item in form.items
    }
    scoring = form.scoring
    if scoring and scoring.adjustments:
        data["adjustments"] = {
            a.key: draw(st.integers(0, a.max_times))
            for a in scoring.adjustments
            if draw(st.booleans())
        }
    if scoring and scoring.downgrade:
        data["downgrade"] = {
            c.key: draw(st.sampled_from([True, False, "是", "否"]))
            for c in scoring.downgrade
            if draw(st.booleans())
        }
    return data


# Malformed input ---------------------------------------------------------------

HUGE = [2**64, -(2**63), 10**15, 10**30, -(10**30)]
ODD_STRINGS = [
    "", " ", "\t", "NaN", "nan", "Infinity", "-inf", "1e400", "-1e400", "1e-400",
    "1E+999999999", "0x1A", "1_000", "٣", "１２", "3.5", "-1", "999", "1000", "0",
    NA, "合格", "不合格", "符合", "不符合", "基本符合", "是", "否", "true", "on", "maybe",
    "严重", "一般", "2026-11-21", "2026-02-30", "1999-12-31", "2026-11-21T09:30", "08:30",
    "24:00", "8:30", "13800138000", "138 0013 8000", "0755-83001234", "12345", "f" * 32,
    "0" * 32, "F" * 32, "\x00", "a\nb", "a\r\nb", "\u202e", "\ud800", "\udfff", "😀", "字" * 600,
]  # fmt: skip
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE),
    # Past Python's int-to-text limit (4300 digits); built lazily so that reprs stay short.
    st.sampled_from([4301, 5000]).map(lambda n: (-1) ** n * 10**n),
    st.floats(),  # NaN and ±inf included: Python's json module accepts them
    st.text(max_size=20),
    st.sampled_from(ODD_STRINGS),
)


def json_like(keys: list[str]) -> st.SearchStrategy[object]:
    """Nested dicts and lists of odd leaves; dict keys from ``keys`` or anything."""
    key = st.one_of(st.sampled_from(keys), st.text(max_size=8), st.sampled_from(ODD_STRINGS))
    return st.recursive(
        LEAVES,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=4),
        max_leaves=12,
    )


def _keys(form: FormDef) -> list[str]:
    return [
        *TOP_KEYS,
        *ITEM_KEYS,
        *(f.key for f in form.fields),
        *(i.key for i in form.items),
        *(a.key for a in (form.scoring.adjustments if form.scoring else ())),
        *(c.key for c in (form.scoring.downgrade if form.scoring else ())),
    ]


@st.composite
def shaped_junk(draw, form: FormDef) -> dict:
    """The right top-level shape with wrong, missing and extra contents."""
    junk = json_like(_keys(form))
    names = [f.key for f in form.fields]
    items = [i.key for i in form.items] or ["a1"]

    def key(known: list[str]) -> st.SearchStrategy[str]:
        return st.one_of(st.sampled_from(known), st.text(max_size=6))

    sections = {
        "fields": st.one_of(junk, st.dictionaries(key(names), junk, max_size=8)),
        "items": st.one_of(
            junk,
            st.dictionaries(
                key(items),
                st.one_of(junk, st.dictionaries(key(list(ITEM_KEYS)), junk, max_size=6)),
                max_size=8,
            ),
        ),
        "adjustments": st.one_of(junk, st.dictionaries(key(_keys(form)), junk, max_size=3)),
        "downgrade": st.one_of(junk, st.dictionaries(key(_keys(form)), junk, max_size=3)),
    }
    data = {name: draw(strategy) for name, strategy in sections.items() if draw(st.booleans())}
    if draw(st.booleans()):
        data[draw(st.text(max_size=8))] = draw(junk)
    return data


# Values one step off what each field type accepts: where validators slip.
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=12)  # controls, surrogates
NEAR_MISS: dict[str, list[object]] = {
    "text": ["\ud800", "a\udfffb", "a\x00b", "a\nb", "a\rb", "\u202e", "   ", 123, ["a"], {"a": 1}],
    "number": ["1e400", "-1e400", "1E+999999999", "1e-400", "NaN", "-Infinity", "1_000", "٣",
               "１２", "9" * 29, "9" * 31, 1e308, float("inf"), float("nan"), 10**20, True, "0x10"],
    "date": ["2026-02-30", "٢٠٢٦-١١-٢١", "1999-12-31", "2101-01-01", "2026-11-21T00:00",
             "20261121", " 2026-11-21 ", "2026-11-21\n", 20261121, dt.date(2026, 11, 21)],
    "time": ["24:00", "0٨:3٠", "８:30", "8:30", "08:60", "08:30:00", " 08:30 ", "08:30\n", 830],
    "choice": ["", "其他", [], [1], {"x": 1}, 0],
    "project": ["XX", "ch", " CH ", ["CH"], "CH\x00"],
    "phone": ["12345", "1380013800٠", "+8613800138000", "138-0013-8000", "(0755)83001234",
              "４００-800-1234", 13800138000, "1" * 200],
    "yesno": ["maybe", 2, [], "TRUE", " 是 ", None],
    "photo": ["F" * 32, "g" * 32, "0" * 31, [None], ["0" * 32] * 11, "0" * 32 + "\n"],
    "item": [{"count": "1e400"}, {"count": "NaN"}, {"count": -1}, {"count": 1000}, {"count": 1.5},
             {"count": "1_0"}, {"count": True}, {"result": NA, "count": 1}, {"severity": "严重"},
             {"note": "\ud800"}, {"location": "a\nb"}, {"photos": ["x"]}, {"photos": ["0" * 32] * 4},
             NA, "合格", 3, -1, 1.5, [], {"result": ["合格"]}, {"result": {"a": 1}}],
}  # fmt: skip
NEAR_MISS["textarea"] = NEAR_MISS["location"] = NEAR_MISS["text"]
NEAR_MISS["person"] = NEAR_MISS["signature"] = NEAR_MISS["text"]
NEAR_MISS["multichoice"] = [*NEAR_MISS["choice"], ["", ""]]


def near_miss(kind: str) -> st.SearchStrategy[object]:
    return st.one_of(st.sampled_from(NEAR_MISS[kind]), ANY_TEXT, LEAVES)


@st.composite
def near_misses(draw, form: FormDef) -> dict:
    """A valid submission with a few fields or items given values one step off."""
    data = draw(valid_submission(form))
    for _ in range(draw(st.integers(1, 3))):
        if form.items and draw(st.booleans()):
            item = draw(st.sampled_from(form.items))
            data["items"][item.key] = draw(near_miss("item"))
        else:
            spec = draw(st.sampled_from(form.fields))
            data["fields"][spec.key] = draw(near_miss(spec.type))
    return data


@st.composite
def mutated(draw, form: FormDef) -> dict:
    """A valid submission with one to three values replaced, removed or added."""
    data = draw(valid_submission(form))
    junk = json_like(_keys(form))
    for _ in range(draw(st.integers(1, 3))):
        spots = [(data, k) for k in data] + [
            (inner, k)
            for section in data.values()
            if isinstance(section, dict)
            for inner in [section, *(v for v in section.values() if isinstance(v, dict))]
            for k in inner
        ]
        if not spots:
            break
        container, key = draw(st.sampled_from(spots))
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            container[key] = draw(junk)
        elif action == "remove":
            del container[key]
        else:
            container[draw(st.text(max_size=8))] = draw(junk)
    return data


def any_input(form: FormDef) -> st.SearchStrategy[object]:
    return st.one_of(json_like(_keys(form)), shaped_junk(form), mutated(form), near_misses(form))


# Checks ------------------------------------------------------------------------


def path_names_something(form: FormDef, data: object, path: str) -> bool:
    """The error path points at a field, item or key of the form or of the input."""
    if not isinstance(data, Mapping):
        return path == ""

    def given(section: str) -> set[str]:
        inner = data.get(section)
        return {str(k) for k in inner} if isinstance(inner, Mapping) else set()

    if path in TOP_KEYS or path in {str(k) for k in data if k not in TOP_KEYS}:
        return True
    head, _, rest = path.partition(".")
    if head == "fields":
        return form.field(rest) is not None or rest in given("fields")
    if head == "items":
        if rest in given("items"):
            return True
        key, _, part = rest.partition(".")
        raw = data["items"].get(key) if isinstance(data.get("items"), Mapping) else None
        parts = {str(k) for k in raw} if isinstance(raw, Mapping) else set()
        return form.item(key) is not None and (part == "" or part in ITEM_KEYS or part in parts)
    if head in ("adjustments", "downgrade"):
        return rest in given(head)
    return False


def check_errors(form: FormDef, data: object, errors: dict) -> None:
    for path, message in errors.items():
        assert isinstance(path, str) and isinstance(message, str), (path, message)
        assert CHINESE.search(message), (path, message)
        assert path_names_something(form, data, path), (path, message)
        head, _, rest = path.partition(".")
        spec = form.field(rest) if head == "fields" else None
        if spec is not None:
            assert message.startswith(f"{spec.label}："), (path, message)
        item = form.item(rest.partition(".")[0]) if head == "items" else None
        if item is not None:
            assert message.startswith(f"{item.text[:20]}："), (path, message)


def stored_json(clean: Clean) -> str:
    """What the store writes (items as `records._answer` keeps them): must be strict JSON
    (no NaN) and encodable as UTF-8."""
    record = {
        "values": clean.fields,
        "items": {k: _answer(a) for k, a in clean.items.items()},
        "adjustments": clean.adjustments,
        "downgrade": clean.downgrade,
    }
    text = json.dumps(record, ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")
    return text


ASCII_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")
ASCII_PHONE = re.compile(r"[0-9-]+")


def check_canonical(form: FormDef, clean: Clean) -> None:
    """Clean values are the stored form: ISO dates, ASCII times and numbers, finite numbers."""
    for spec in form.fields:
        value = clean.fields.get(spec.key)
        if value is None:
            continue
        if spec.type == "date":
            assert value.isascii() and dt.date.fromisoformat(value).isoformat() == value, value
        elif spec.type == "time":
            assert ASCII_TIME.fullmatch(value), value
        elif spec.type == "phone":
            assert ASCII_PHONE.fullmatch(value), value
        elif spec.type == "number":
            assert isinstance(value, int | float) and not isinstance(value, bool), value
            assert math.isfinite(value) and abs(value) < 10**15, value
            assert (spec.min is None or value >= spec.min) and (
                spec.max is None or value <= spec.max
            )
        elif spec.type == "yesno":
            assert isinstance(value, bool), value
        elif spec.type in ("choice", "project"):
            assert value in (spec.options or PROJECTS), value
        elif spec.type == "multichoice":
            assert set(value) <= set(spec.options), value


def check_score(form: FormDef, clean: Clean) -> None:
    if not form.is_checklist:
        assert clean.items == {}
        return
    assert set(clean.items) == {i.key for i in form.items}
    result = score(form, clean.items, clean.adjustments, clean.downgrade)
    if form.scoring is None:  # check-only lists: no points, no grade
        assert result.score is None and result.grade is None
        return
    assert 0 <= result.score <= form.scoring.total
    assert result.grade in {b.grade for b in form.scoring.bands}
    json.dumps(result.to_dict(), ensure_ascii=False, allow_nan=False).encode("utf-8")


# Properties --------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
@PER_FORM
@given(data=st.data())
def test_a_valid_answer_is_accepted_and_scores_within_bounds(code, data):
    form = FORMS[code]
    submission = data.draw(valid_submission(form), label="submission")
    clean, errors = validate(form, submission, PROJECTS)
    assert errors == {}
    stored_json(clean)
    check_canonical(form, clean)
    check_score(form, clean)


@pytest.mark.parametrize("code", CODES)
@PER_FORM
@given(data=st.data())
def test_any_input_gives_errors_or_a_score_never_an_exception(code, data):
    form = FORMS[code]
    submission = data.draw(any_input(form), label="submission")
    before = copy.deepcopy(submission)
    clean, errors = validate(form, submission, PROJECTS)
    assert submission == before  # the input is not changed
    assert validate(form, copy.deepcopy(submission), PROJECTS) == (clean, errors)  # deterministic
    if errors:
        check_errors(form, submission, errors)
    else:
        stored_json(clean)
        check_canonical(form, clean)
        check_score(form, clean)


ITEMS = [item for code in CHECKLISTS for item in FORMS[code].items]
MODES = sorted({item.mode for item in ITEMS})


@pytest.mark.parametrize("mode", MODES)
@settings(
    max_examples=settings.default.max_examples * 4,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_the_quick_path_for_plain_answers_agrees_with_the_full_check(mode, data):
    """`_plain_answer` takes a shortcut for {"result": …} / {"count": …}: whenever it answers,
    the full check `_item` gives the same answer and no error."""
    item = data.draw(st.sampled_from([i for i in ITEMS if i.mode == mode]), label="item")
    raw = data.draw(
        st.one_of(
            item_answer(item),
            st.fixed_dictionaries({"result": st.sampled_from(ODD_STRINGS) | LEAVES}),
            st.fixed_dictionaries({"count": LEAVES}),
            st.dictionaries(st.sampled_from(["result", "count", "note"]), LEAVES, max_size=2),
        ),
        label="raw",
    )
    quick = _plain_answer(item, raw)
    if quick is not None:
        assert _item(item, copy.deepcopy(raw)) == (quick, {})


# One real item of each kind: mode, whether it allows 不适用, and its choices.
KINDS = {(i.mode, i.na, i.choices()): i for i in ITEMS}
EDGE_COUNTS = [-1, 0, COUNT_MAX, COUNT_MAX + 1, True, False, 1.0, "0", None]
ODD_RESULTS = [NA, " 合格", "", None, 1]
EXTRA_KEYS = [{"note": "说明"}, {"note": ""}, {"photos": []}, {"severity": "一般"}, {"x": 1}]


def edge_answers(item: Item) -> list[object]:
    """Every count and result at or beyond the quick path's edges, alone and with another key."""
    alone = [{"count": c} for c in EDGE_COUNTS]
    alone += [{"result": r} for r in dict.fromkeys([*item.choices(), *ODD_RESULTS])]
    both = [{"count": 0, "result": r} for r in (*item.choices(), NA)]
    extended = [a | extra for a in alone for extra in EXTRA_KEYS]
    return [None, {}, 0, PASS, NA, [{"result": PASS}], *alone, *both, *extended]


@pytest.mark.parametrize(
    "item",
    KINDS.values(),
    ids=[f"{m}-{'na' if na else 'no-na'}-{i.key}" for (m, na, _), i in KINDS.items()],
)
def test_the_quick_path_agrees_with_the_full_check_at_every_edge(item):
    """Exhaustive where the random search above is thin: whenever `_plain_answer` answers,
    `_item` gives the same answer and no error; and it does answer the plain valid cases,
    so it cannot quietly leave them all to `_item`."""
    for raw in edge_answers(item):
        quick = _plain_answer(item, copy.deepcopy(raw))
        if quick is not None:
            assert _item(item, copy.deepcopy(raw)) == (quick, {}), raw
    if item.mode == "deduct":
        plain = {0: ItemAnswer(count=0), COUNT_MAX: ItemAnswer(count=COUNT_MAX)}
        assert {c: _plain_answer(item, {"count": c}) for c in plain} == plain
    else:
        plain = {r: ItemAnswer(result=r) for r in item.choices()}
        assert {r: _plain_answer(item, {"result": r}) for r in plain} == plain


def test_the_edge_table_has_items_of_every_mode_with_and_without_na():
    assert {(mode, na) for mode, na, _ in KINDS} == {(m, na) for m in MODES for na in (False, True)}


@pytest.mark.parametrize("code", CHECKLISTS)
def test_the_best_answer_to_every_item_scores_full_marks(code):
    form = FORMS[code]

    def best(item: Item) -> str:
        return max(item.tiers, key=lambda t: t.points).label if item.tiers else item.choices()[0]

    items = {i.key: {"count": 0} if i.mode == "deduct" else {"result": best(i)} for i in form.items}
    fields = {
        f.key: {"project": "CH", "date": "2026-11-21", "time": "08:30"}.get(f.type, "是")
        for f in form.fields
        if f.required and f.type in ("project", "date", "time", "yesno")
    }
    clean, errors = validate(form, {"fields": fields, "items": items}, PROJECTS)
    assert {k for k in errors if not k.startswith("fields.")} == set()
    result = score(form, clean.items)
    assert result.nonconformities == []
    if form.scoring:
        assert result.score == form.scoring.total
        assert result.grade == form.scoring.bands[0].grade


def _result(raw: object) -> object:
    return raw.get("result") if isinstance(raw, dict) else raw


def _worse(item: Item, raw: object) -> dict:
    """The same item rated one step worse (or already at the worst)."""
    if item.mode == "deduct":
        count = raw.get("count") if isinstance(raw, dict) else None
        return {"count": min(int(count) + 1, 999)} if count is not None else {"count": 1}
    if item.mode == "tiered":
        return {"result": min(item.tiers, key=lambda t: t.points).label}
    return {"result": NONCONFORM if item.mode == "check" else "不合格"}


@pytest.mark.parametrize("code", CHECKLISTS)
@PER_FORM
@given(data=st.data())
def test_rating_an_item_worse_never_raises_the_score(code, data):
    form = FORMS[code]
    submission = data.draw(valid_submission(form), label="submission")
    answers = submission["items"]
    rated = [i for i in form.items if _result(answers[i.key]) != NA]
    # An item rated 不适用 is left alone: with ``na: exclude`` rating it at all may
    # raise the scaled score (5.5 of 6 is above an average of 91 %), which is correct.
    item = data.draw(st.sampled_from(rated), label="item")
    worse = copy.deepcopy(submission)
    worse["items"][item.key] = _worse(item, submission["items"][item.key])
    before, errors = validate(form, submission, PROJECTS)
    after, more_errors = validate(form, worse, PROJECTS)
    assert errors == more_errors == {}
    first = score(form, before.items, before.adjustments, before.downgrade)
    second = score(form, after.items, after.adjustments, after.downgrade)
    if form.scoring:
        assert second.score <= first.score
    assert len(second.nonconformities) >= len(first.nonconformities)
