"""The documented demo command fills an empty data directory so that every report has data."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from forms_server.app import create_app
from forms_server.settings import Settings
from forms_server.store import Store
from tests.conftest import login

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo") / "db"
    env = {**os.environ, "QMS_DATA_DIR": str(data)}
    run = subprocess.run([sys.executable, "-m", "forms_server", "demo", "--months", "2"], env=env, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    again = subprocess.run(
        [sys.executable, "-m", "forms_server", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode != 0 and "已有记录" in again.stderr
    site = tmp_path_factory.mktemp("site")
    (site / "index.html").write_text("<h1>手册</h1>", encoding="utf-8")
    settings = Settings(data_dir=data, site_dir=site)
    app = create_app(settings, Store(data, lambda: dt.datetime.now(settings.tz)).open())
    with TestClient(app):
        yield run.stdout, login(app, "zhang", "Demo-2026x")


def test_demo_reports_are_not_empty(demo):
    summary, client = demo
    assert summary.startswith("已生成演示数据：")
    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    monthly = client.get(f"/api/reports/monthly?unit=ALL&month={last_month}").json()
    assert len(monthly["projects"]) == 4
    assert all(p["assessment"]["score"] is not None for p in monthly["projects"])
    assert monthly["totals"]["issued"] > 0
    complaints = client.get("/api/reports/complaints?unit=ALL").json()
    assert complaints["total"] > 10 and complaints["pareto"]
    inspections = client.get("/api/reports/inspections?unit=ALL").json()
    assert any(v is not None for series in inspections["trend"].values() for v in series)
    objectives = client.get("/api/reports/objectives?unit=ALL").json()
    measured = [
        o
        for o in objectives["objectives"]
        if o["values"] and any(v is not None for v in o["values"])
    ]
    assert {o["key"] for o in measured} >= {
        "satisfaction",
        "complaint_on_time",
        "complaint_visit",
        "rectification",
    }
    assert (
        client.get("/notices/").status_code == 200
        and client.get("/complaints/?overdue=1").status_code == 200
    )
