"""Editions of the manual, built for real: a git repository in a temporary directory,
two editions published with `make release` (mike), a revised and an obsoleted document.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import app_with, login, make_env
from tests.sitekit import ROOT, Project, front_matter, markdown

VENV = Path(sys.executable).parent.parent
TODAY = dt.date.today()
GIT_ENV = {
    "GIT_AUTHOR_NAME": "张慧敏",
    "GIT_AUTHOR_EMAIL": "zhang@example.invalid",
    "GIT_COMMITTER_NAME": "张慧敏",
    "GIT_COMMITTER_EMAIL": "zhang@example.invalid",
}
QP01_A0 = (
    "## 1 目的\n\n规范文件的编制、审核和批准。\n\n## 2 职责\n\n品质管理部每年组织一次文件评审。\n"
)
QP01_A1 = "## 1 目的\n\n规范文件的编制、审核、批准和发放。\n\n## 2 职责\n\n品质管理部每半年组织一次文件评审。\n"


def run(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_ENV, "QMS_OVERDUE_REVIEW": "warn"}
    result = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result


def release(project: Path, edition: str, check: bool = True) -> subprocess.CompletedProcess:
    """`make release` exactly as a user types it, with this test run's virtual environment."""
    return run(project, "make", "-o", f"{VENV}/.installed", "release", f"EDITION={edition}", f"VENV={VENV}",
               check=check)  # fmt: skip


def commit(project: Path, message: str) -> None:
    run(project, "git", "add", "-A")
    run(project, "git", "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("editions") / "manual"
    p = Project(root)
    for name in ("Makefile", "pyproject.toml", "requirements.lock", ".gitignore"):
        shutil.copy2(ROOT / name, root / name)
    p.add("QP-01", body=QP01_A0, references=["QM-01"], records=["QR-01-01"], title="文件控制程序")
    p.add("QP-02", title="记录控制程序")
    p.add("QP-03", title="内部审核程序", review_due=(TODAY + dt.timedelta(days=10)).isoformat())
    p.add("QP-04", title="管理评审程序", review_due=(TODAY - dt.timedelta(days=5)).isoformat())
    p.add("QP-05", title="纠正措施程序", effective=(TODAY + dt.timedelta(days=20)).isoformat())
    run(root, "git", "init", "-q", "-b", "main")
    commit(root, "首次发布受控文件")
    release(root, "2026.1")

    # Between the editions: QP-01 is revised, QP-02 withdrawn and superseded by QP-01.
    revisions = front_matter("QP-01")["revisions"] + [
        {"version": "A/1", "date": TODAY.isoformat(), "summary": "增加文件发放；评审改为每半年一次",
         "approved_by": "王建国", "prepared_by": "张慧敏"}
    ]  # fmt: skip
    p.add("QP-01", body=QP01_A1, references=["QM-01"], records=["QR-01-01"], title="文件控制程序",
          version="A/1", revisions=revisions)  # fmt: skip
    p.write("docs/procedures/qp-02.md", markdown(front_matter(
        "QP-02", title="记录控制程序", status="作废", withdrawn_on=TODAY.isoformat(),
        withdrawn_reason="并入文件控制程序", superseded_by="QP-01")))  # fmt: skip
    commit(root, "QP-01 修订为 A/1；QP-02 作废")
    release(root, "2026.2")
    return root


def page(repo: Path, edition: str, path: str) -> str:
    return (repo / "editions" / edition / path / "index.html").read_text(encoding="utf-8")


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def test_versions_list_names_both_editions_with_latest_on_the_newest(repo):
    versions = json.loads((repo / "editions" / "versions.json").read_text(encoding="utf-8"))
    assert [(v["version"], v["aliases"]) for v in versions] == [
        ("2026.2", ["latest"]),
        ("2026.1", []),
    ]
    # The branch holds real files: latest/ is a copy, nothing to follow.
    assert not any(p.is_symlink() for p in (repo / "editions").rglob("*"))
    assert (repo / "editions" / "index.html").is_file()  # redirects to latest


def test_each_edition_keeps_what_the_document_said(repo):
    old, new = page(repo, "2026.1", "procedures/qp-01"), page(repo, "latest", "procedures/qp-01")
    assert "每年组织一次文件评审" in old and "<dd>A/0</dd>" in old
    assert "每半年组织一次文件评审" in new and "<dd>A/1</dd>" in new
    assert page(repo, "2026.2", "procedures/qp-01") == new


def test_old_editions_carry_the_outdated_banner_linking_to_the_same_page(repo):
    old = page(repo, "2026.1", "procedures/qp-01")
    banner = re.search(r'data-md-component="outdated"[^>]*>(.*?)</div>', old, re.S)
    assert banner and "您正在查看旧版本" in banner.group(1)
    href = re.search(r'href="([^"]+)"', banner.group(1)).group(1)
    target = (repo / "editions" / "2026.1" / "procedures" / "qp-01" / href).resolve()
    assert target == (repo / "editions" / "latest" / "procedures" / "qp-01").resolve()
    assert (target / "index.html").is_file()
    # Material shows the banner and the version selector from the edition's settings.
    assert '"provider": "mike"' in old or '"provider":"mike"' in old


def test_edition_page_lists_revised_and_obsoleted_documents(repo):
    notes = page(repo, "2026.2", "release-notes")
    assert "版本说明：版本 2026.2" in notes
    assert "与上一版本 2026.1 相比：新增 0 份，修订 1 份，作废 1 份。" in text_of(notes)
    revised = text_of(notes[notes.index('<h2 id="修订文件"') : notes.index('<h2 id="作废文件"')])
    assert "QP-01 文件控制程序 A/0 → A/1 A/1 增加文件发放；评审改为每半年一次 王建国" in revised
    obsoleted = text_of(notes[notes.index('<h2 id="作废文件"') :])
    assert f"QP-02 记录控制程序 A/0 {TODAY} 并入文件控制程序 QP-01" in obsoleted
    first = text_of(page(repo, "2026.1", "release-notes"))
    assert "这是第一个发布的版本" in first


def test_redline_shows_character_level_changes(repo):
    diff = page(repo, "latest", "history/qp-01-a0-a1")
    lines = re.findall(r'<span class="qms-rl-no">\d+</span>(.*?)</div>', diff)
    assert "规范文件的编制、审核<del>和</del><ins>、</ins>批准<ins>和发放</ins>。" in lines
    assert "品质管理部每<ins>半</ins>年组织一次文件评审。" in lines
    assert "version: A/<del>0</del><ins>1</ins>" in lines
    assert "新增 5 行，删除 0 行，修改 3 行。" in text_of(diff)
    history = text_of(page(repo, "latest", "history/qp-01"))
    assert "A/1 " + TODAY.isoformat() + " 增加文件发放；评审改为每半年一次 张慧敏 王建国" in history
    assert "A/0 → A/1" in history


def test_register_archives_the_withdrawn_document(repo):
    register = page(repo, "latest", "register")
    archive = text_of(register[register.index('id="作废文件"') :])
    assert f"QP-02 记录控制程序 A/0 {TODAY} 并入文件控制程序 QP-01" in archive
    assert "qms-watermark" in page(repo, "latest", "procedures/qp-02")
    assert "qms-watermark" not in page(repo, "2026.1", "procedures/qp-02")


def test_review_page_lists_due_and_overdue_documents_with_owners(repo):
    review = page(repo, "latest", "review")
    overdue = text_of(
        review[review.index('<h2 id="已逾期"') : review.index('<h2 id="30-天内到期"')]
    )
    soon = text_of(review[review.index('<h2 id="30-天内到期"') :])
    assert "QP-04 管理评审程序 A/0 品质管理部" in overdue and "逾期 5 天" in overdue
    assert "QP-03 内部审核程序 A/0 品质管理部" in soon and "10 天后" in soon
    assert "QP-01" not in overdue + soon


def test_pending_document_shows_its_date(repo):
    header = page(repo, "latest", "procedures/qp-05")
    assert "<dd>待生效</dd>" in header
    assert f"<dd>{TODAY + dt.timedelta(days=20)}</dd>" in header


def test_changelog_lists_revisions_newest_first_with_filters(repo):
    changelog = page(repo, "latest", "changelog")
    rows = re.findall(r"<tr data-type=\"([^\"]+)\" data-owner=\"([^\"]+)\"><td>([^<]+)</td><td><a[^>]*>([^<]+)</a>",
                      changelog)  # fmt: skip
    assert rows[0] == ("程序文件", "品质管理部", TODAY.isoformat(), "QP-01 文件控制程序")
    dates = [r[2] for r in rows]
    assert dates == sorted(dates, reverse=True)
    assert 'data-filter="type"' in changelog and 'data-filter="owner"' in changelog


def test_confirmations_record_the_edition_read(repo):
    catalog = json.loads((repo / "editions" / "2026.2" / "qms-catalog.json").read_text("utf-8"))
    head = run(repo, "git", "rev-parse", "main").stdout.strip()
    assert (catalog["edition"], catalog["commit"]) == ("2026.2", head)
    box = re.search(
        r'<div class="qms-ack" ([^>]*)>', page(repo, "2026.2", "procedures/qp-01")
    ).group(1)
    assert f'data-edition="2026.2" data-commit="{head}"' in box


def build(project: Path) -> None:
    """`make build` as a user types it."""
    run(project, "make", "-o", f"{VENV}/.installed", "build", f"VENV={VENV}")


def live_manual(repo: Path) -> tuple[dict, str, str]:
    """site/ (the manual the server shows at /): its catalog, QP-01's confirmation box and page."""
    catalog = json.loads((repo / "site" / "qms-catalog.json").read_text("utf-8"))
    qp01 = (repo / "site" / "procedures" / "qp-01" / "index.html").read_text("utf-8")
    return catalog, re.search(r'<div class="qms-ack" ([^>]*)>', qp01).group(1), qp01


def test_the_live_manual_knows_its_edition_until_the_tree_changes(repo):
    head = run(repo, "git", "rev-parse", "HEAD").stdout.strip()
    catalog, box, qp01 = live_manual(repo)  # as `make release` left it
    assert (catalog["edition"], catalog["commit"]) == ("2026.2", head)
    assert f'data-edition="2026.2" data-commit="{head}"' in box
    assert not re.search(r'"provider":\s*"mike"', qp01)  # no version selector at /
    build(repo)  # a later `make build` (or `make serve`) of the released commit
    assert live_manual(repo)[:2] == (catalog, box)
    path = repo / "docs" / "procedures" / "qp-03.md"
    path.write_text(path.read_text("utf-8") + "\n补充。\n", "utf-8")
    try:
        build(repo)  # the documents' metadata is unchanged, the text is not
        catalog, box, _ = live_manual(repo)
        assert (catalog["edition"], catalog["commit"]) == (None, head)
        assert f'data-edition="" data-commit="{head}"' in box
    finally:
        run(repo, "git", "checkout", "--", "docs/procedures/qp-03.md")


def test_the_server_serves_every_edition(repo, tmp_path, password_hash):
    app = app_with(make_env(tmp_path), password_hash, editions_dir=repo / "editions")
    with TestClient(app):
        assert (
            TestClient(app, follow_redirects=False).get("/editions/2026.1/").status_code == 303
        )  # login first
        client = login(app, "auditor")
        old = client.get("/editions/2026.1/procedures/qp-01/")
        assert old.status_code == 200 and "每年组织一次文件评审" in old.text
        assert "每半年" in client.get("/editions/latest/procedures/qp-01/").text
        assert client.get("/editions/versions.json").json()[0]["version"] == "2026.2"


def test_release_refuses_uncommitted_changes_and_bad_names(repo):
    (repo / "docs" / "procedures" / "qp-03.md").write_text(
        (repo / "docs" / "procedures" / "qp-03.md").read_text("utf-8") + "\n补充。\n", "utf-8"
    )
    try:
        dirty = release(repo, "2026.3", check=False)
        assert dirty.returncode != 0 and "有未提交的修改" in dirty.stdout + dirty.stderr
    finally:
        run(repo, "git", "checkout", "--", "docs/procedures/qp-03.md")
    for name in ("latest", "2026/3"):
        bad = release(repo, name, check=False)
        assert bad.returncode != 0 and "不可用" in bad.stdout + bad.stderr
    assert "2026.3" not in (repo / "editions" / "versions.json").read_text("utf-8")


def test_a_shallow_clone_builds_and_says_history_is_missing(repo, tmp_path):
    clone = tmp_path / "shallow"
    run(tmp_path, "git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone))
    # The clone has no symlinked helpers' targets of its own: they point into this checkout.
    build = run(clone, str(VENV / "bin" / "properdocs"), "build", "--strict", "-f", "mkdocs.yml")
    assert "浅克隆" in build.stdout + build.stderr
    history = (clone / "site" / "history" / "qp-01" / "index.html").read_text("utf-8")
    assert "没有完整的修订历史" in history and "git fetch --unshallow" in history
