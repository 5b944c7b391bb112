"""Shared fixtures: a real app on a temporary data directory, users of every role."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings
from starlette.routing import BaseRoute, Mount
from starlette.testclient import TestClient

from forms_server.app import create_app
from forms_server.auth import hash_password
from forms_server.settings import Settings
from forms_server.store import Store
from tests.forms_kit import CHECKLIST_YAML
from tests.sitekit import ROOT, Build

# Property-based tests (hypothesis, and schemathesis on top of it): `ci` keeps `make test`
# quick; `HYPOTHESIS_PROFILE=thorough make test` searches twenty times longer.
settings.register_profile("ci", max_examples=50, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = "Secret-2026"

RECORD_YAML = """
code: QR-12-99
title: 测试投诉登记表
version: A/0
status: 受控
owner: 品质管理部
prepared_by: 陈晓东
reviewed_by: 张慧敏
approved_by: 张慧敏
effective: 2026-03-01
review_due: 2027-03-01
revisions:
  - {version: A/0, date: 2026-02-20, summary: 首次发布, approved_by: 张慧敏}
procedure: QP-12
workflow: complaint
description: 测试用投诉登记表。
fields:
  - {key: project, label: 管理处, type: project, required: true}
  - {key: received_date, label: 受理日期, type: date, required: true, list: true}
  - {key: received_time, label: 受理时间, type: time, required: true}
  - {key: owner_name, label: 业主姓名, type: text, required: true, max_length: 20, list: true}
  - {key: room, label: 房号, type: location, required: true}
  - {key: phone, label: 联系电话, type: phone, required: true}
  - {key: category, label: 投诉类别, type: choice, options: [服务态度, 维修不及时, 环境卫生], required: true}
  - {key: urgency, label: 紧急程度, type: choice, options: [紧急, 一般], required: true}
  - {key: content, label: 投诉内容, type: textarea, required: true}
  - {key: photos, label: 现场照片, type: photo, max_files: 2}
"""

USERS = {
    "admin": {"role": "admin", "project": None},
    "quality": {"role": "quality", "project": None},
    "auditor": {"role": "auditor", "project": None},
    "staff_ch": {"role": "staff", "project": "CH", "team": "客户服务中心"},
    "worker_ch": {"role": "staff", "project": "CH", "team": "工程维修班"},
    "staff_jj": {"role": "staff", "project": "JJ", "team": "客户服务中心"},
}


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


class Clock:
    """A settable clock: tests decide what time it is."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 21, 9, 30, tzinfo=TZ)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Env:
    root: Path
    settings: Settings
    clock: Clock

    def open_store(self) -> Store:
        return Store(self.settings.data_dir, self.clock).open()

    def app(self, store: Store | None = None):
        return create_app(self.settings, store or self.open_store())


def make_env(tmp_path: Path) -> Env:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>手册首页</h1>", encoding="utf-8")
    forms = tmp_path / "data" / "forms"
    forms.mkdir(parents=True)
    (forms / "QR-10-99.yml").write_text(CHECKLIST_YAML, encoding="utf-8")
    (forms / "QR-12-99.yml").write_text(RECORD_YAML, encoding="utf-8")
    shutil.copy(ROOT / "data" / "qms.yml", tmp_path / "data" / "qms.yml")
    settings = Settings(
        data_dir=tmp_path / "data" / "db",
        site_dir=site,
        forms_dir=forms,
        config_file=tmp_path / "data" / "qms.yml",
        session_hours=720,  # tests move the clock forward by days
    )
    return Env(tmp_path, settings, Clock())


@pytest.fixture
def env(tmp_path) -> Env:
    return make_env(tmp_path)


def add_users(store: Store, password_hash: str) -> None:
    for username, spec in USERS.items():
        store.add_user(
            {
                "username": username,
                "display_name": username,
                "active": True,
                "password_hash": password_hash,
                **spec,
            },
            by="test",
        )


def app_with(env: Env, password_hash: str, **settings):
    """An app on ``env``'s data directory, with users of every role and some settings changed."""
    store = env.open_store()
    add_users(store, password_hash)
    changed = Env(env.root, dataclasses.replace(env.settings, **settings), env.clock)
    return changed.app(store)


@pytest.fixture
def app(env, password_hash):
    application = app_with(env, password_hash)
    with TestClient(application):  # runs the lifespan; closes the store at the end
        yield application


def app_routes(app) -> list[tuple[str, BaseRoute]]:
    """(full path, route) of every route of the app, those of the API's mount included."""
    out: list[tuple[str, BaseRoute]] = []
    for route in app.routes:
        if isinstance(route, Mount) and route.routes:
            out += [(route.path + inner.path, inner) for inner in route.routes]
        else:
            out.append((route.path, route))
    return out


def login(app, username: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(app, base_url="http://testserver", follow_redirects=False)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(client, "/login")},
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def clients(app) -> dict[str, TestClient]:
    return {name: login(app, name) for name in USERS}


def csrf_of(client: TestClient, path: str = "/forms/") -> str:
    """The form token of the page at ``path`` (on /login and /setup, the double-submit one)."""
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def number_of(response) -> str:
    """The record number a post redirected to (/submissions/<number>?new=1, /complaints/<number>)."""
    return response.headers["location"].split("/")[2].split("?")[0]


@pytest.fixture
def tokens(app) -> dict[str, str]:
    store = app.state.store
    return {name: store.create_token(name, "测试", by="test")[0] for name in USERS}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def real_site(tmp_path_factory) -> Build:
    """The real docs/, built strictly exactly as `make build` does (into a temp dir), once per run."""
    import subprocess
    import sys

    site = tmp_path_factory.mktemp("real") / "site"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "properdocs"),
            "build",
            "--strict",
            "-f",
            "mkdocs.yml",
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Build(result.returncode, result.stdout + result.stderr, site)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can act on failures
    (the browser tests save screenshots)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
