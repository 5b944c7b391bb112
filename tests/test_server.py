"""Serving the manual beside the forms; settings from the environment."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from forms_server.app import create_app
from forms_server.settings import Settings
from tests.conftest import login


@pytest.fixture
def manual(env, app):
    procedure = env.settings.site_dir / "procedures" / "qp-01"
    procedure.mkdir(parents=True)
    (procedure / "index.html").write_text("<h1>QP-01</h1>", encoding="utf-8")
    return login(app, "staff_ch")


def test_healthz_is_open_for_monitoring(app):
    body = TestClient(app).get("/healthz").json()
    assert body == {"status": "ok", "records": 0, "forms": 2}


def test_serves_the_built_manual_to_logged_in_users(manual):
    assert manual.get("/").text == "<h1>手册首页</h1>"
    assert manual.get("/procedures/qp-01/").text == "<h1>QP-01</h1>"


def test_missing_page_is_404(manual):
    assert manual.get("/procedures/qp-99/").status_code == 404


@pytest.mark.parametrize(
    "path", ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2fdata/qms.yml"]
)
def test_static_paths_cannot_leave_the_site(manual, path):
    response = manual.get(path)
    assert response.status_code == 404
    assert "root:" not in response.text and "company" not in response.text


def test_refuses_to_start_without_a_built_site(env):
    settings = Settings(
        data_dir=env.settings.data_dir,
        site_dir=env.root / "nosite",
        forms_dir=env.settings.forms_dir,
    )
    with pytest.raises(SystemExit, match="请先运行 make build"):
        create_app(settings, env.open_store())


def test_refuses_to_start_with_a_broken_form_definition(env):
    (env.settings.forms_dir / "QR-10-98.yml").write_text(
        "code: QR-10-98\ntitle: 坏表\n", encoding="utf-8"
    )
    with pytest.raises(SystemExit) as failure:
        create_app(env.settings, env.open_store())
    message = str(failure.value)
    assert message.startswith("表格定义有误，服务不启动")
    assert "QR-10-98.yml: version: 缺少必填字段“版本号”" in message
    assert "QR-10-98.yml: fields: 至少应有一个表头字段" in message


@pytest.mark.parametrize(
    ("env_vars", "message"),
    [
        pytest.param({"PORT": "http"}, "PORT 应为 1–65535 之间的端口号", id="port-not-a-number"),
        pytest.param({"PORT": "70000"}, "PORT 应为 1–65535 之间的端口号", id="port-out-of-range"),
        pytest.param(
            {"QMS_SESSION_HOURS": "0"},
            "QMS_SESSION_HOURS 应为 1–720 之间的整数",
            id="session-hours",
        ),
        pytest.param(
            {"QMS_SECURE_COOKIES": "maybe"}, "QMS_SECURE_COOKIES 应为 1 或 0", id="secure-flag"
        ),
        pytest.param({"QMS_TZ": "Mars/Base"}, "QMS_TZ 不是有效的时区名称", id="timezone"),
    ],
)
def test_bad_settings_are_refused(env_vars, message):
    with pytest.raises(SystemExit, match=message):
        Settings.from_env(env_vars)


def test_settings_from_env(tmp_path):
    settings = Settings.from_env(
        {
            "HOST": "0.0.0.0",
            "PORT": "9000",
            "QMS_DATA_DIR": str(tmp_path),
            "QMS_SECURE_COOKIES": "1",
            "QMS_MAX_UPLOAD_MB": "8",
        }
    )
    assert (settings.host, settings.port, settings.data_dir) == ("0.0.0.0", 9000, tmp_path)
    assert settings.secure_cookies and settings.max_upload_mb == 8
