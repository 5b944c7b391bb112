"""The complaint lifecycle of QP-12 业主投诉处理程序, as pure functions.

States: 受理 → 派工 → 处理中 → 已办结 → 已回访 → 关闭. A return visit (回访) that
finds the owner 不满意 sends the complaint back (退回/重新处理): to 处理中 with the
same team, or to 派工 when it is given to another team; a new round of
deadlines starts then. A complaint that is not valid (非有效投诉) is closed with a
reason from 受理, 派工 or 处理中; one whose owner cannot be reached is closed from
已办结 after 7 days of attempts (无法回访, counted as not visited).

Who may act (QP-12 §4.8): only the 客户服务中心 dispatches, visits and closes; the
responsible team starts and finishes the work; the person who resolved a
complaint does not visit it. Staff act only on their own 管理处; quality staff
act on all. Deadlines (response, resolution, visit) come from data/qms.yml.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SERVICE_TEAM = "客户服务中心"
STATES = ("受理", "派工", "处理中", "已办结", "已回访", "关闭")
SATISFACTION = ("满意", "基本满意", "不满意")
VISIT_METHODS = ("电话", "上门")
UNREACHABLE_DAYS = 7


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    sources: tuple[str, ...]
    service_only: bool  # only the customer-service centre (or quality staff)
    needs_note: bool = False


ACTIONS: dict[str, Action] = {
    a.key: a
    for a in (
        Action("dispatch", "派工", ("受理", "派工"), True),
        Action("start", "接单处理", ("派工",), False),
        Action("resolve", "办结", ("处理中",), False, needs_note=True),
        Action("visit", "回访", ("已办结",), True),
        Action("close", "关闭", ("已回访",), True),
        Action("reject", "非有效投诉关闭", ("受理", "派工", "处理中"), True, needs_note=True),
        Action("unreachable", "无法回访关闭", ("已办结",), True, needs_note=True),
    )
}


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    project: str | None
    team: str | None


@dataclass(frozen=True)
class Deadline:
    round: int
    name: str  # 响应 / 办结 / 回访
    due: str  # ISO datetime
    done: str | None  # when it was met (or missed), ISO datetime
    status: str  # 按时完成 / 逾期完成 / 未到期 / 已逾期


def minutes_for(urgency: str, config) -> tuple[int, int]:
    try:
        return config.complaint_deadlines[urgency]
    except KeyError:
        raise ValueError(
            f"紧急程度“{urgency}”没有配置处理时限（data/qms.yml complaints.deadlines）"
        ) from None


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def new_round(started: dt.datetime, urgency: str, config, responded: bool = False) -> dict:
    response, resolve = minutes_for(urgency, config)
    return {
        "started_at": _iso(started),
        "response_due": _iso(started + dt.timedelta(minutes=response)),
        "resolve_due": _iso(started + dt.timedelta(minutes=resolve)),
        "responded_at": _iso(started) if responded else None,
        "resolved_at": None,
        "resolved_by": None,
        "visit_due": None,
        "visited_at": None,
    }


def open_complaint(submission: dict, config) -> dict:
    """The complaint started by a 业主投诉登记表 submission (state 受理)."""
    values = submission["values"]
    received = received_at(values, submission["submitted_at"], config)
    return {
        "number": submission["number"],
        "project": submission["project"],
        "category": values.get("category"),
        "urgency": values.get("urgency"),
        "channel": values.get("channel"),
        "owner_name": values.get("owner_name"),
        "room": values.get("room"),
        "phone": values.get("phone"),
        "content": values.get("content"),
        "received_at": _iso(received),
        "state": "受理",
        "team": None,
        "handler": None,
        "satisfaction": None,
        "visit_method": None,
        "closed_at": None,
        "close_reason": None,
        "rounds": [new_round(received, values.get("urgency"), config)],
        "log": [
            {
                "action": "受理",
                "from": None,
                "to": "受理",
                "by": submission["submitted_by"],
                "at": submission["submitted_at"],
                "note": "",
            }
        ],
    }


def received_at(values: dict, submitted_at: str, config) -> dt.datetime:
    """When the complaint was received: the form's date and time fields, else when it was filed."""
    submitted = _at(submitted_at)
    day, clock = values.get("received_date"), values.get("received_time")
    if day and clock:
        moment = dt.datetime.fromisoformat(f"{day}T{clock}:00").replace(tzinfo=submitted.tzinfo)
        # Validation refuses times later than now; one a few minutes ahead (a phone's clock
        # running fast, `validation.CLOCK_SKEW`) is taken as the filing time.
        return min(moment, submitted)
    return submitted


def allowed(complaint: dict, action: Action, actor: Actor) -> str | None:
    """Why ``actor`` may not perform ``action`` now (Chinese), or None when allowed."""
    if complaint["state"] not in action.sources:
        return f"当前状态为“{complaint['state']}”，不能执行“{action.label}”（只能在{'、'.join(action.sources)}状态下执行）"
    if actor.role == "quality":
        return None
    if actor.role != "staff":
        return f"“{action.label}”需要管理处员工或品质管理角色"
    if actor.project != complaint["project"]:
        return "只能处理本管理处的投诉"
    if action.service_only and actor.team != SERVICE_TEAM:
        return f"只有客户服务中心可以{action.label}"
    return None


def apply(
    complaint: dict, key: str, actor: Actor, data: dict, now: dt.datetime, config
) -> tuple[dict | None, dict[str, str]]:
    """Perform one action. Returns the new complaint (a new dict) or the errors, by input name."""
    action = ACTIONS.get(key)
    if action is None:
        return None, {"action": f"未知操作“{key}”"}
    refused = allowed(complaint, action, actor)
    if refused:
        return None, {"action": refused}
    note = str(data.get("note") or "").strip()
    errors: dict[str, str] = {}
    if len(note) > 1000:
        errors["note"] = "说明最多 1000 个字"
    if action.needs_note and not note:
        errors["note"] = f"“{action.label}”须填写说明"
    new = {
        **complaint,
        "rounds": [dict(r) for r in complaint["rounds"]],
        "log": list(complaint["log"]),
    }
    current = new["rounds"][-1]
    target: str | None = None
    stamp = _iso(now)

    if key == "dispatch":
        team = str(data.get("team") or "").strip()
        if team not in config.teams:
            errors["team"] = f"请选择责任班组（{'、'.join(config.teams)}）"
        handler = str(data.get("handler") or "").strip()[:30]
        new.update(team=team, handler=handler or None)
        target = "派工"
    elif key == "start":
        current["responded_at"] = current["responded_at"] or stamp
        target = "处理中"
    elif key == "resolve":
        current.update(
            resolved_at=stamp,
            resolved_by=actor.username,
            visit_due=_iso(now + dt.timedelta(minutes=config.complaint_visit_minutes)),
        )
        target = "已办结"
    elif key == "visit":
        satisfaction, method = data.get("satisfaction"), data.get("method")
        if satisfaction not in SATISFACTION:
            errors["satisfaction"] = "请选择业主满意度：满意、基本满意或不满意"
        if method not in VISIT_METHODS:
            errors["method"] = "请选择回访方式：电话或上门"
        if current.get("resolved_by") == actor.username:
            errors["action"] = "回访不能由处理人自己进行"
        current["visited_at"] = stamp
        new.update(satisfaction=satisfaction, visit_method=method)
        if satisfaction == "不满意":
            team = str(data.get("team") or "").strip()
            if team and team not in config.teams:
                errors["team"] = f"改派班组应为{'、'.join(config.teams)}之一"
            reassigned = bool(team) and team != complaint["team"]
            new["rounds"].append(
                new_round(now, complaint["urgency"], config, responded=not reassigned)
            )
            if reassigned:
                new.update(team=team, handler=None)
            target = "派工" if reassigned else "处理中"
        else:
            target = "已回访"
    elif key == "close":
        new.update(closed_at=stamp, close_reason="回访满意，结案")
        target = "关闭"
    elif key == "reject":
        new.update(closed_at=stamp, close_reason=f"非有效投诉：{note}")
        target = "关闭"
    elif key == "unreachable":
        resolved = current.get("resolved_at")
        if resolved and now < _at(resolved) + dt.timedelta(days=UNREACHABLE_DAYS):
            errors["action"] = f"办结后满 {UNREACHABLE_DAYS} 天仍联系不上业主才能按无法回访关闭"
        new.update(closed_at=stamp, close_reason=f"无法回访：{note}")
        target = "关闭"

    if errors:
        return None, errors
    label = action.label
    if key == "visit":
        label = f"回访（{new['satisfaction']}）" + (
            "→退回重新处理" if new["satisfaction"] == "不满意" else ""
        )
    new["log"].append(
        {
            "action": label,
            "from": complaint["state"],
            "to": target,
            "by": actor.username,
            "at": stamp,
            "note": note,
        }
    )
    new["state"] = target
    return new, {}


def deadlines(complaint: dict, now: dt.datetime) -> list[Deadline]:
    """Every deadline of every round, each with its status, in order."""
    out: list[Deadline] = []
    closed = complaint.get("closed_at")
    for number, r in enumerate(complaint["rounds"], start=1):
        last = number == len(complaint["rounds"])
        items = [
            ("响应", r["response_due"], r.get("responded_at")),
            ("办结", r["resolve_due"], r.get("resolved_at")),
        ]
        if r.get("visit_due"):
            items.append(("回访", r["visit_due"], r.get("visited_at")))
        for name, due, done in items:
            # A closed complaint (rejected, unreachable) no longer runs its open deadlines.
            if done is None and (closed or not last):
                status = "未完成（已结案）" if closed else "未完成（已重新处理）"
            elif done is None:
                status = "已逾期" if now > _at(due) else "未到期"
            else:
                status = "按时完成" if _at(done) <= _at(due) else "逾期完成"
            out.append(Deadline(number, name, due, done, status))
    return out


def is_overdue(complaint: dict, now: dt.datetime) -> bool:
    return complaint["state"] != "关闭" and any(
        d.status == "已逾期" for d in deadlines(complaint, now)
    )


def on_time(complaint: dict) -> bool | None:
    """Resolved within its (last) resolution deadline; None while not resolved."""
    last = complaint["rounds"][-1]
    if not last.get("resolved_at"):
        return None
    return _at(last["resolved_at"]) <= _at(last["resolve_due"])


def actions_for(complaint: dict, actor: Actor) -> list[Action]:
    return [a for a in ACTIONS.values() if allowed(complaint, a, actor) is None]
