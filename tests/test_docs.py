"""Tests that fail when the README drifts from the code (Datasette's test_docs habit)."""

from __future__ import annotations

import re

from tests.sitekit import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _settings() -> set[str]:
    """Every environment variable the code reads: settings.py helpers and mkdocs.yml !ENV."""
    source = (ROOT / "forms_server/settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'(?:env\.get|number|flag|path)\("([A-Z_]+)"', source))
    names |= set(re.findall(r"!ENV \[([A-Z_]+)", (ROOT / "mkdocs.yml").read_text(encoding="utf-8")))
    return names


def _make_targets() -> set[str]:
    phony = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    # venv and targets starting with "_" are steps of other targets, not commands people type.
    return {t for t in phony.group(1).split() if not t.startswith("_")} - {"venv"}


def test_settings_are_found():
    assert {
        "HOST",
        "PORT",
        "QMS_DATA_DIR",
        "QMS_OVERDUE_REVIEW",
        "QMS_SESSION_HOURS",
        "QMS_SECURE_COOKIES",
    } <= _settings()


def test_every_setting_is_documented():
    missing = sorted(name for name in _settings() if f"`{name}`" not in README)
    assert missing == []


def test_every_make_target_is_documented():
    assert "serve" in _make_targets() and "test" in _make_targets()
    missing = sorted(t for t in _make_targets() if f"make {t}" not in README)
    assert missing == []


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci/run").read_text(encoding="utf-8")
