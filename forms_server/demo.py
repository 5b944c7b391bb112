"""A demonstration dataset: ``python -m forms_server demo`` (server stopped).

Fills an empty data directory with the last few months of a plausible company:
users of every role, three-level inspections of every discipline, the
分公司 monthly assessment and a half-year audit, a quarterly joint check,
complaints through their whole lifecycle (some reopened, some overdue),
re-inspections that close or re-issue notices, and a satisfaction survey.
Everything goes through the same validation, scoring and workflow functions as
real use, so every report has data. The random choices are seeded: the same
command gives the same data.

Demo accounts (password ``Demo-2026x``, for trying the system only):
admin (管理员), zhang (品质管理), shen (审核员), and per 管理处 ``<code>-kf``
(客户服务中心) and ``<code>-gc`` (工程维修班), e.g. ``ch-kf``.
"""

from __future__ import annotations

import datetime as dt
import random

from forms_server import complaints, records, rectification, reports
from forms_server.auth import Principal, hash_password
from forms_server.definitions import FormDef
from forms_server.errors import HTTPError

PASSWORD = "Demo-2026x"
NAMES = ["陈晓东", "刘芳", "周伟", "吴丽娟", "孙志强", "郑涛", "赵磊", "李建", "王敏", "黄磊"]
#: How often an item fails, per 管理处: the data show different grades.
QUALITY = {"CH": 0.03, "JJ": 0.08, "BJ": 0.16, "NS": 0.05}
DISCIPLINES = [
    "QR-10-01",
    "QR-10-04",
    "QR-10-07",
    "QR-10-10",
    "QR-10-13",
]  # daily checklists; +1 weekly, +2 monthly


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def answer_field(f, day: dt.date, project: str, rng: random.Random):
    if f.type == "project":
        return project
    if f.type == "date":
        return day.isoformat()
    if f.type == "time":
        return f"{rng.randint(8, 17):02d}:{rng.choice(['00', '15', '30', '45'])}"
    if f.type in ("choice",):
        return f.options[0]
    if f.type == "multichoice":
        return [f.options[0]]
    if f.type == "yesno":
        return "否"
    if f.type == "number":
        low = int(f.min) if f.min is not None else 0
        high = int(f.max) if f.max is not None else low + 10
        return str(rng.randint(low, max(low, min(high, low + 10))))
    if f.type == "phone":
        return f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
    if f.type in ("signature", "person"):
        return rng.choice(NAMES)
    if f.type == "photo":
        return None
    if f.type == "location":
        return (
            f"{rng.randint(1, 12)}栋{rng.randint(1, 3)}单元{rng.randint(1, 30)}0{rng.randint(1, 4)}"
        )
    return "正常"


def checklist_answers(form: FormDef, failure: float, rng: random.Random) -> dict:
    items = {}
    for item in form.items:
        fails = rng.random() < (failure / 10 if item.critical else failure)
        if item.na and rng.random() < 0.05:
            items[item.key] = {"result": "不适用"}
            continue
        if item.mode == "deduct":
            count = rng.randint(1, 3) if fails else 0
            items[item.key] = {"count": count, **({"note": f"发现 {count} 处"} if count else {})}
            continue
        if item.mode == "tiered":
            result = (
                item.tiers[rng.randint(1, len(item.tiers) - 1)].label
                if fails
                else item.tiers[0].label
            )
        elif item.mode == "check":
            result = "不符合" if fails else "符合"
        else:
            result = "不合格" if fails else "合格"
        items[item.key] = {"result": result, **({"note": f"{item.text}未达标"} if fails else {})}
    return items


def submit(
    state, user: Principal, form: FormDef, day: dt.date, rng: random.Random, **overrides
) -> dict:
    project = user.project or overrides.pop("project")
    fields = {
        f.key: answer_field(f, day, project, rng)
        for f in form.fields
        if f.required or rng.random() < 0.5
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    fields.update(overrides)
    data = {"fields": fields}
    if form.is_checklist:
        data["items"] = checklist_answers(form, QUALITY.get(project, 0.05), rng)
    try:
        return records.submit(state, user, form, data)
    except HTTPError as exc:  # pragma: no cover - the generator must produce valid data
        raise SystemExit(f"演示数据生成失败：{form.code} {exc.errors}") from exc


def run(state, months: int = 3, seed: int = 2026) -> dict[str, int]:
    """Generate ``months`` months up to yesterday. ``state`` has store, forms and company."""
    rng = random.Random(seed)
    store, forms, company = state.store, state.forms, state.company
    clock: Clock = store.clock  # the demo store is opened with a settable clock
    real_now = clock.now
    password_hash = hash_password(PASSWORD)
    users = _users(store, company, password_hash)

    def who(name: str) -> Principal:
        return Principal.from_user(store.get_user(name), "demo")

    end = real_now.date() - dt.timedelta(days=1)
    last = end.strftime("%Y-%m")
    first = reports.months_back(last, months - 1)
    quality = who("zhang")
    day = dt.date.fromisoformat(f"{first}-01")
    span = reports.month_range(first, last)
    audit_month = span[len(span) // 2]
    while day <= end:
        month = day.strftime("%Y-%m")
        for project in company.projects:
            kf, gc = who(f"{project.lower()}-kf"), who(f"{project.lower()}-gc")
            clock.now = dt.datetime.combine(day, dt.time(9, rng.randint(0, 59)), real_now.tzinfo)
            # Three-level inspections: daily on weekdays (one discipline a day), weekly on Mondays, monthly on the 20th.
            if day.weekday() < 5:
                submit(
                    state,
                    gc if rng.random() < 0.5 else kf,
                    forms[DISCIPLINES[day.weekday()]],
                    day,
                    rng,
                )
            if day.weekday() == 0:
                for code in DISCIPLINES:
                    submit(state, kf, forms[_plus(code, 1)], day, rng)
            if day.day == 20:
                for code in DISCIPLINES:
                    submit(state, kf, forms[_plus(code, 2)], day, rng)
            # Complaints: about two a week, all through the customer-service window.
            if rng.random() < 0.3:
                _complaint(state, kf, gc, forms, day, end, rng)
            # 分公司 monthly assessment on the 25th by two assessors; a half-year audit by three in one month.
            if day.day == 25:
                batch = "下半年稽查" if month == audit_month else "分公司月度考核"
                for assessor in rng.sample(NAMES, 3 if month == audit_month else 2):
                    submit(state, quality, forms[company.assessment_form], day, rng, project=project, batch=batch,
                           assessor=assessor)  # fmt: skip
            if day.day == 28 and day.month % 3 == 2:
                submit(state, quality, forms["QR-10-17"], day, rng, project=project)
            if day == end.replace(day=min(15, end.day)):
                for _ in range(30):
                    submit(state, kf, forms[company.satisfaction_form], day, rng,
                           overall=rng.choices(["满意", "基本满意", "不满意"], [70, 24, 6 + 20 * QUALITY[project]])[0])  # fmt: skip
        # Re-inspections a week after each inspection with open notices.
        _reinspect(state, quality, day, rng)
        day += dt.timedelta(days=1)
    clock.now = real_now
    return {
        "submissions": store.count("submissions"),
        "complaints": store.count("complaints"),
        "notices": store.count("notices"),
        "reinspections": store.count("reinspections"),
        "users": users,
    }


def _plus(code: str, n: int) -> str:
    return f"{code[:-2]}{int(code[-2:]) + n:02d}"


def _users(store, company, password_hash: str) -> int:
    specs = [("admin", "系统管理员", "admin", None, None), ("zhang", "张慧敏", "quality", None, None),
             ("shen", "沈审核", "auditor", None, None)]  # fmt: skip
    for code, project in company.projects.items():
        specs.append(
            (f"{code.lower()}-kf", f"{project.name[:2]}客服", "staff", code, "客户服务中心")
        )
        specs.append((f"{code.lower()}-gc", f"{project.name[:2]}维修", "staff", code, "工程维修班"))
    for username, name, role, project, team in specs:
        if store.get_user(username) is None:
            store.add_user({"username": username, "display_name": name, "role": role, "project": project, "team": team,
                            "active": True, "password_hash": password_hash}, by="demo")  # fmt: skip
    return len(specs)


def _complaint(
    state, kf: Principal, gc: Principal, forms, day: dt.date, end: dt.date, rng: random.Random
) -> None:
    store, company = state.store, state.company
    intake = next(f for f in forms.values() if f.workflow == "complaint")
    urgency = rng.choice(["紧急", "一般", "一般", "一般"])
    category = rng.choices(
        intake.field("category").options,
        [5, 9, 6, 3, 4, 2, 1][: len(intake.field("category").options)],
    )[0]
    clock = store.clock
    doc = submit(state, kf, intake, day, rng, urgency=urgency, category=category,
                 received_time=clock.now.strftime("%H:%M"), content=f"{category}问题，请尽快处理")  # fmt: skip
    number = doc["number"]
    late = rng.random() < 0.15  # some are handled late
    steps = [("dispatch", kf, 5, {"team": "工程维修班"}), ("start", gc, 40 if late else 15, {}),
             ("resolve", gc, (60 * 30 if late else 60 * 5) * (1 if urgency == "紧急" else 3), {"note": "已处理完毕"})]  # fmt: skip
    if (end - day).days < 2 and rng.random() < 0.6:
        steps = steps[: rng.randint(0, 2)]  # recent ones are still open
    for key, actor, minutes, data in steps:
        clock.now += dt.timedelta(minutes=minutes)
        _act(store, company, number, key, actor, data)
    if len(steps) == 3:
        clock.now += dt.timedelta(hours=rng.randint(4, 40))
        satisfaction = rng.choices(complaints.SATISFACTION, [70, 22, 8])[0]
        _act(store, company, number, "visit", kf, {"satisfaction": satisfaction, "method": "电话"})
        if satisfaction == "不满意":
            clock.now += dt.timedelta(hours=3)
            _act(store, company, number, "resolve", gc, {"note": "返修完成"})
            clock.now += dt.timedelta(hours=5)
            _act(
                store, company, number, "visit", kf, {"satisfaction": "基本满意", "method": "上门"}
            )
        _act(store, company, number, "close", kf, {})


def _act(store, company, number, key, actor, data) -> None:
    def change(current):
        new, errors = complaints.apply(current, key, actor.actor(), data, store.now(), company)
        if errors:  # pragma: no cover - the generator follows the lifecycle
            raise SystemExit(f"演示数据生成失败：{number} {key} {errors}")
        return new

    store.update("complaints", number, change, actor.username, complaints.ACTIONS[key].label)


def _reinspect(state, quality: Principal, day: dt.date, rng: random.Random) -> None:
    store, company = state.store, state.company
    week_ago = (day - dt.timedelta(days=7)).isoformat()
    sources = sorted(
        {
            n["source"]
            for n in store.find("notices", status=rectification.OPEN)
            if n["issued_on"] <= week_ago
        }
    )
    for source in sources:
        if rng.random() < 0.15:
            continue  # left overdue
        store.clock.now = dt.datetime.combine(day, dt.time(15, 0), store.clock.now.tzinfo)

        inspection = store.get_submission(source)

        def decide(current, inspection=inspection):
            results = {
                n["number"]: {"result": "合格" if rng.random() < 0.85 else "不合格"}
                for n in current
            }
            updated, reissued, errors = rectification.reinspect(
                current, results, day, quality.username, company
            )
            return (
                updated,
                reissued,
                rectification.reinspection_record(inspection, current, results),
            )

        store.reinspect(source, decide, quality.username)
