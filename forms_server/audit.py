"""The audit trail as people read it: each history entry as rows of field, old value, new value.

The store keeps the history (`forms_server.store`): one entry per change, with
who, when, the action, the changed fields' old and new values, and the hash
chain. This module only presents it, in plain functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

#: Who audits the system: the quality department, auditors and administrators (the audit
#: page, the evidence export and the read-confirmation matrix it includes).
AUDIT_ROLES = ("quality", "auditor", "admin")
#: Records whose history an auditor opens from the record's page, by URL segment.
TABLES = {
    "submissions": "记录",
    "complaints": "投诉",
    "notices": "整改通知书",
    "reinspections": "复查记录",
}
ACTIONS = {
    "create": "创建",
    "update": "修改",
    "delete": "删除",
    "reinspect": "复查",
    "reissue": "再次通知",
    "revoke": "吊销",
}
FIELDS = {
    "state": "状态",
    "status": "状态",
    "team": "班组",
    "handler": "处理人",
    "satisfaction": "满意度",
    "visit_method": "回访方式",
    "closed_at": "结案时间",
    "close_reason": "结案原因",
    "rounds": "处理轮次",
    "log": "处理过程",
    "result": "复查结论",
    "result_note": "复查说明",
    "closed_on": "关闭日期",
    "reinspection": "复查记录",
    "reinspected_by": "复查人",
    "next": "再次通知",
    "values": "填写内容",
    "items": "检查项",
    "score": "得分",
    "role": "角色",
    "project": "管理处",
    "active": "启用",
    "password_hash": "密码",
    "revoked": "已吊销",
    "display_name": "姓名",
    "action": "操作",
    "from": "原状态",
    "to": "新状态",
    "by": "操作人",
    "at": "时间",
    "note": "说明",
    "started_at": "起算时间",
    "response_due": "响应期限",
    "resolve_due": "办结期限",
    "responded_at": "响应时间",
    "resolved_at": "办结时间",
    "resolved_by": "办结人",
    "visit_due": "回访期限",
    "visited_at": "回访时间",
    "reason": "原因",
}


def action_name(action: str) -> str:
    """English verbs of the store in Chinese; workflow actions are already Chinese (派单, 回访…)."""
    return ACTIONS.get(action, action)


def field_name(path: tuple) -> str:
    """("rounds", 1, "responded_at") → 处理轮次第 2 项.响应时间."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"第 {part + 1} 项"
        else:
            out += ("." if out else "") + FIELDS.get(part, part)
    return out


def text(value: object) -> str:
    """A value as an auditor reads it: plain text, 标签：值 for objects, — for nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict):
        return "\uff1b".join(
            f"{FIELDS.get(k, k)}\uff1a{text(v)}" for k, v in value.items() if v not in (None, "")
        )
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def rows(changes: dict) -> list[tuple[str, str, str]]:
    """(field, old, new) for each changed value; objects and lists are followed down to the
    values that changed, so a new log entry shows as one added item, not the whole log again."""
    out: list[tuple[str, str, str]] = []

    def walk(path: tuple, old: object, new: object) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new), key=str):
                if old.get(key) != new.get(key):
                    walk((*path, key), old.get(key), new.get(key))
        elif isinstance(old, list) and isinstance(new, list):
            for i in range(max(len(old), len(new))):
                if i >= len(old):
                    out.append((field_name((*path, i)) + "\uff08新增\uff09", "—", text(new[i])))
                elif i >= len(new):
                    out.append((field_name((*path, i)) + "\uff08删除\uff09", text(old[i]), "—"))
                elif old[i] != new[i]:
                    walk((*path, i), old[i], new[i])
        else:
            out.append((field_name(path), text(old), text(new)))

    for key, (old, new) in changes.items():
        walk((key,), old, new)
    return out


def entries(history: list[dict]) -> list[dict]:
    """The history of one record, oldest first, ready for a page or a CSV."""
    return [
        {
            "seq": e["seq"],
            "table": e["table"],
            "record": e["record"],
            "at": e["at"],
            "by": e["by"] or "系统",
            "action": action_name(e["action"]),
            "rows": rows(e["changes"]) if e["changes"] else [],
            "hash": e["hash"],
            "prev": e["prev"],
        }
        for e in history
    ]


def change_lines(entries: list[dict]) -> list[tuple[dict, str, str, str]]:
    """(entry, field, old, new) for each changed value of `entries`: the lines of a CSV
    (an entry without changes keeps one line, with empty cells)."""
    return [(e, *row) for e in entries for row in (e["rows"] or [("", "", "")])]


@dataclass(frozen=True)
class Verdict:
    """The history chain's verification in words: the same on the audit page, from the
    ``verify`` command and in the evidence package."""

    ok: bool
    finding: str  # 变更历史完整：… or 发现问题：…
    label: str  # 链头哈希 or 原因
    value: str  # the head hash or the reason
    note: str = ""

    def __str__(self) -> str:
        return f"{self.finding}\n{self.label}\uff1a{self.value}{self.note}"


def verdict(result: dict, store) -> Verdict:
    """`Store.verify`'s result for people; where the chain breaks, the record is named by its
    number (`Store.record_numbers`, read only then)."""
    if result["ok"]:
        return Verdict(
            True,
            f"变更历史完整：共 {result['entries']} 条变更历史，哈希链连续；"
            f"{result['records']} 条记录与其最后一次变更一致。",
            "链头哈希",
            result["head"],
            "（请记下，日后复核时应仍在链中）",
        )
    b = result["broken"]
    name = store.record_numbers().get((b["table"], b["record"]))
    where = f"{b['table']} 第 {b['record']} 号记录{'，' + name if name else ''}，{b['at']}"
    return Verdict(
        False, f"发现问题：第 {b['seq']} 条变更历史起不可信（{where}）。", "原因", b["reason"]
    )
