"""The forms server as users reach it: the manual and the health check."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from forms_server.app import create_app
from forms_server.settings import Settings


@pytest.fixture
def client(tmp_path):
    site = tmp_path / "site"
    (site / "procedures" / "qp-01").mkdir(parents=True)
    (site / "index.html").write_text("<h1>首页</h1>", encoding="utf-8")
    (site / "procedures" / "qp-01" / "index.html").write_text("<h1>QP-01</h1>", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "db", site_dir=site)
    with TestClient(create_app(settings)) as client:
        yield client


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_serves_the_built_manual(client):
    assert client.get("/").text == "<h1>首页</h1>"
    assert client.get("/procedures/qp-01/").text == "<h1>QP-01</h1>"


def test_missing_page_is_404(client):
    assert client.get("/procedures/qp-99/").status_code == 404


def test_refuses_to_start_without_a_built_site(tmp_path):
    with pytest.raises(SystemExit, match="请先运行 make build"):
        create_app(Settings(data_dir=tmp_path / "db", site_dir=tmp_path / "nosite"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param({"PORT": "http"}, "PORT 应为 1–65535 之间的端口号", id="not-a-number"),
        pytest.param({"PORT": "70000"}, "PORT 应为 1–65535 之间的端口号", id="out-of-range"),
    ],
)
def test_bad_port_is_refused(env, message):
    with pytest.raises(SystemExit, match=message):
        Settings.from_env(env)


def test_settings_from_env(tmp_path):
    settings = Settings.from_env({"HOST": "0.0.0.0", "PORT": "9000", "QMS_DATA_DIR": str(tmp_path)})
    assert (settings.host, settings.port, settings.data_dir) == ("0.0.0.0", 9000, tmp_path)
