"""The audit trail as people read it: each history entry as rows of field, old value, new value.

The store keeps the history (`forms_server.store`): one entry per change, with
who, when, the action, the changed fields' old and new values, and the hash
chain. This module only presents it, in plain functions.
"""

from __future__ import annotations

import json

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
}
LONG = 120


def action_name(action: str) -> str:
    """English verbs of the store in Chinese; workflow actions are already Chinese (派单, 回访…)."""
    return ACTIONS.get(action, action)


def field_name(path: str) -> str:
    head, _, rest = path.partition(".")
    name = FIELDS.get(head, head)
    return f"{name}.{rest}" if rest else name


def text(value: object) -> str:
    """A value as an auditor reads it: plain text, JSON for structures, — for nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def rows(changes: dict) -> list[tuple[str, str, str]]:
    """(field, old, new) for each changed value; nested objects are followed down to the
    values that changed, and a list that only grew shows just the added entries."""
    out: list[tuple[str, str, str]] = []

    def walk(path: str, old: object, new: object) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new), key=str):
                if old.get(key) != new.get(key):
                    walk(f"{path}.{key}", old.get(key), new.get(key))
        elif (
            isinstance(old, list)
            and isinstance(new, list)
            and len(new) > len(old)
            and new[: len(old)] == old
        ):
            for entry in new[len(old) :]:
                out.append((field_name(path) + "（新增）", "—", text(entry)))
        else:
            out.append((field_name(path), text(old), text(new)))

    for key, (old, new) in changes.items():
        walk(key, old, new)
    return out


def entries(history: list[dict]) -> list[dict]:
    """The history of one record, oldest first, ready for a page or a CSV."""
    return [
        {
            "seq": e["seq"],
            "at": e["at"],
            "by": e["by"] or "系统",
            "action": action_name(e["action"]),
            "rows": rows(e["changes"]) if e["changes"] else [],
            "hash": e["hash"],
            "prev": e["prev"],
        }
        for e in history
    ]
