"""The company's configuration (``data/qms.yml``): name, branches and projects,
quality objectives and complaint deadlines. Shared with the manual's macros.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml


class ConfigError(SystemExit):
    """A broken data/qms.yml stops the start with the file and the key."""


@dataclass(frozen=True)
class Project:
    code: str
    name: str
    branch: str  # branch code
    branch_name: str


@dataclass(frozen=True)
class Objective:
    key: str
    name: str
    comparison: str
    target: float
    unit: str


@dataclass(frozen=True)
class Company:
    name: str
    short_name: str
    projects: dict[str, Project]
    branches: dict[str, str]  # code → name
    objectives: tuple[Objective, ...] = ()
    #: urgency → (response minutes, resolve minutes)
    complaint_deadlines: dict[str, tuple[int, int]] = field(default_factory=dict)
    complaint_visit_minutes: int = 2880
    #: Teams of a 管理处 (staff belong to one; complaints are dispatched to one).
    teams: tuple[str, ...] = ()
    rectification_days: int = 7
    reissue_days: int = 3
    #: Forms whose nonconformities count towards a 管理处's monthly grade (QP-11 §4.1).
    counted_forms: tuple[str, ...] = ()
    #: Which forms feed the reports (data/qms.yml ``reports``).
    assessment_form: str = "QR-10-16"
    audit_batches: tuple[str, ...] = ()
    monthly_batches: tuple[str, ...] = ()
    satisfaction_form: str = "QR-13-02"
    satisfaction_field: str = "overall"

    def branch_of(self, project: str) -> str:
        return self.projects[project].branch

    def project_names(self) -> dict[str, str]:
        return {code: p.name for code, p in self.projects.items()}

    def projects_of_branch(self, branch: str) -> list[str]:
        return [code for code, p in self.projects.items() if p.branch == branch]


def load(path: Path) -> Company:
    where = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}： 无法读取公司配置：{exc}") from exc
    try:
        company = raw["company"]
        projects: dict[str, Project] = {}
        branches: dict[str, str] = {}
        for branch in raw["branches"]:
            branches[branch["code"]] = branch["name"]
            for p in branch["projects"]:
                if p["code"] in projects:
                    raise ConfigError(f"{where}： branches: 管理处代码 {p['code']} 重复")
                projects[p["code"]] = Project(p["code"], p["name"], branch["code"], branch["name"])
        objectives = tuple(
            Objective(
                o["key"],
                o["name"],
                o["comparison"],
                float(o["target"]),
                str(o.get("unit", "")).strip(),
            )
            for o in raw.get("objectives", [])
        )
        complaints = raw.get("complaints", {})
        deadlines = {
            urgency: (int(v["response_minutes"]), int(v["resolve_minutes"]))
            for urgency, v in complaints.get("deadlines", {}).items()
        }
        rectification = raw.get("rectification", {})
        reports = raw.get("reports", {})
        return Company(
            name=company["name"],
            short_name=company.get("short_name", company["name"]),
            projects=projects,
            branches=branches,
            objectives=objectives,
            complaint_deadlines=deadlines,
            complaint_visit_minutes=int(
                complaints.get("visit_minutes", Company.complaint_visit_minutes)
            ),
            teams=tuple(raw.get("teams", ())),
            rectification_days=int(rectification.get("days", Company.rectification_days)),
            reissue_days=int(rectification.get("reissue_days", Company.reissue_days)),
            counted_forms=tuple(raw.get("grading", {}).get("counted_forms", ())),
            assessment_form=reports.get("assessment_form", Company.assessment_form),
            audit_batches=tuple(reports.get("audit_batches", ())),
            monthly_batches=tuple(reports.get("monthly_batches", ())),
            satisfaction_form=reports.get("satisfaction_form", Company.satisfaction_form),
            satisfaction_field=reports.get("satisfaction_field", Company.satisfaction_field),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}： 公司配置缺少或写错了字段：{exc}") from exc
