"""The documented demo command fills an empty data directory so that every report has data."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import types

import pytest
from starlette.testclient import TestClient

from forms_server import config
from forms_server import demo as generator
from forms_server.app import create_app
from forms_server.definitions import load_dir
from forms_server.settings import PROJECT_DIR, Settings
from forms_server.store import Store
from tests.conftest import TZ, login


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


@pytest.mark.slow
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


def test_the_demo_makes_as_many_months_as_asked(tmp_path):
    """Two months up to yesterday (9 March): February, short, and March; not January too."""
    company = config.load(PROJECT_DIR / "data" / "qms.yml")
    forms = load_dir(PROJECT_DIR / "data" / "forms", PROJECT_DIR).forms
    clock = generator.Clock(dt.datetime(2026, 3, 10, 9, 0, tzinfo=TZ))
    with Store(tmp_path / "db", clock) as store:
        generator.run(types.SimpleNamespace(store=store, forms=forms, company=company), months=2)
        dated = {s["record_date"][:7] for s in store.find_submissions()}
        received = {c["received_at"][:7] for c in store.find("complaints")}
        # Its re-inspection records are made as the re-inspection page makes them.
        made = [(r["project"], r["form"]) for r in store.find("reinspections")]
        inspected = [(s["project"], s["form"]) for r in store.find("reinspections")
                     for s in [store.get_submission(r["source"])]]  # fmt: skip
        rated = [(set(r["results"]), set(r["notices"])) for r in store.find("reinspections")]
    assert sorted(dated) == sorted(received) == ["2026-02", "2026-03"]
    assert made and made == inspected
    assert all(results == notices for results, notices in rated)
