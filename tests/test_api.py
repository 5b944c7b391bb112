"""The JSON API: bearer tokens, every field error in one 422, and responses that match the OpenAPI document."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from starlette.testclient import TestClient

from forms_server.openapi import document
from tests.conftest import app_routes, bearer
from tests.forms_kit import perfect_items

SPEC = document()
GOOD = {
    "fields": {"project": "CH", "date": "2026-11-21", "inspector": "陈晓东"},
    "items": {**perfect_items(), "a3": {"count": 2, "note": "2 处满溢", "location": "3 号楼"}},
}


def check(response, status: int, schema: str) -> dict:
    """The response has the status and matches the named component schema of the OpenAPI document."""
    assert response.status_code == status, response.text
    body = response.json()
    resolver_schema = {"$ref": f"#/components/schemas/{schema}", "components": SPEC["components"]}
    jsonschema.validate(body, resolver_schema)
    return body


def documented(path: str, method: str, status: int) -> bool:
    return str(status) in SPEC["paths"][path][method]["responses"]


@pytest.fixture
def api(app):
    return TestClient(app, follow_redirects=False)


def test_every_api_route_is_documented_and_vice_versa(app):
    routes = {path for path, _ in app_routes(app) if path.startswith("/api/")}
    routes -= {"/api/openapi.json", "/api/{rest:path}"}
    assert routes == set(SPEC["paths"])


def test_openapi_document_is_served_to_authenticated_clients(api, tokens):
    assert api.get("/api/openapi.json").status_code == 401
    served = api.get("/api/openapi.json", headers=bearer(tokens["staff_ch"])).json()
    assert served["openapi"] == "3.1.0"
    assert served["paths"] == SPEC["paths"]


def test_every_json_write_documents_the_csrf_header():
    """Writes with a session cookie need X-CSRF-Token (test_csrf tries each without it)."""
    headers = {
        op["operationId"]: {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        for methods in SPEC["paths"].values()
        for method, op in methods.items()
        if method != "get"
    }
    assert {op: "X-CSRF-Token" in names for op, names in headers.items()} == {
        "createSubmission": True,
        "acknowledge": True,
        "uploadAttachment": True,
    }


def test_bearer_token_identifies_the_user(api, tokens):
    body = check(api.get("/api/me", headers=bearer(tokens["staff_ch"])), 200, "Me")
    assert body == {
        "username": "staff_ch",
        "display_name": "staff_ch",
        "role": "staff",
        "project": "CH",
        "team": "客户服务中心",
        "csrf_token": None,
    }
    bad = api.get("/api/me", headers={"Authorization": "Bearer qms_not-a-token"})
    check(bad, 401, "Problem")
    assert bad.headers["www-authenticate"] == 'Bearer realm="qms"'


def test_list_and_get_forms(api, tokens):
    listing = api.get("/api/forms", headers=bearer(tokens["auditor"])).json()
    assert [f["code"] for f in listing["items"]] == ["QR-10-99", "QR-12-99"]
    definition = check(
        api.get("/api/forms/QR-10-99", headers=bearer(tokens["auditor"])), 200, "FormDefinition"
    )
    assert definition["scoring"]["total"] == 20
    item = definition["sections"][0]["items"][2]
    assert item == {
        "key": "a3",
        "text": "垃圾桶无满溢",
        "standard": "",
        "mode": "deduct",
        "points": 3,
        "per": 0.2,
        "deduction": None,
        "na": False,
        "tiers": [],
        "choices": [],
        "critical": None,
    }
    check(api.get("/api/forms/QR-99-99", headers=bearer(tokens["auditor"])), 404, "Problem")


def test_submit_stores_and_returns_the_scored_record(api, tokens, app):
    response = api.post(
        "/api/forms/QR-10-99/submissions", json=GOOD, headers=bearer(tokens["staff_ch"])
    )
    body = check(response, 201, "Submission")
    assert body["number"] == "QR-10-99-20261121-0001"
    assert response.headers["location"] == "/api/submissions/QR-10-99-20261121-0001"
    assert body["score"]["score"] == 19.6 and body["score"]["grade"] == "优秀"
    assert body["score"]["nonconformities"][0]["location"] == "3 号楼"
    assert app.state.store.get_submission(body["number"])["score"]["score"] == 19.6
    # The answer is the stored JSON as made once for the journal: what reading it gives.
    again = api.get(response.headers["location"], headers=bearer(tokens["staff_ch"]))
    assert response.content == json.dumps(
        again.json(), ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    assert response.headers["content-type"] == "application/json"


def test_invalid_submission_lists_every_field_error_and_stores_nothing(api, tokens, app):
    bad = {
        "fields": {"project": "CH", "date": "明天", "inspector": "", "people": 99, "colour": "红"},
        "items": {**perfect_items(), "a2": {"result": "很好"}, "b2": {}},
    }
    response = api.post(
        "/api/forms/QR-10-99/submissions", json=bad, headers=bearer(tokens["staff_ch"])
    )
    body = check(response, 422, "Problem")
    assert documented("/api/forms/{code}/submissions", "post", 422)
    assert body["detail"] == "共 6 处需要修改，记录未保存"
    assert body["errors"] == [
        {"path": "fields.colour", "message": "表单 QR-10-99 中没有字段“colour”"},
        {"path": "fields.date", "message": "检查日期：应为日期，如 2026-11-21"},
        {"path": "fields.inspector", "message": "检查人：必须填写"},
        {"path": "fields.people", "message": "在岗人数：不能大于 50"},
        {
            "path": "items.a2.result",
            "message": "电梯轿厢整洁：评定应为 符合、基本符合、不符合 之一",
        },
        {"path": "items.b2", "message": "无脱岗：请评定此项"},
    ]
    assert app.state.store.count("submissions") == 0


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        pytest.param({"Content-Type": "text/plain"}, b"{}", 415, id="wrong-content-type"),
        pytest.param({"Content-Type": "application/json"}, b"{not json", 400, id="malformed-json"),
        pytest.param(
            {"Content-Type": "application/json"}, b'{"fields": "\xff\xfe"}', 400, id="invalid-utf8"
        ),
        pytest.param({"Content-Type": "application/json"}, b"[1, 2]", 422, id="not-an-object"),
        pytest.param(
            {"Content-Type": "application/json"}, b"x" * (1024 * 1024 + 1), 413, id="too-large"
        ),
    ],
)
def test_bad_bodies_get_a_clear_4xx(api, tokens, app, headers, content, status):
    response = api.post(
        "/api/forms/QR-10-99/submissions",
        content=content,
        headers={**headers, **bearer(tokens["staff_ch"])},
    )
    check(response, status, "Problem")
    assert documented("/api/forms/{code}/submissions", "post", status)
    assert app.state.store.count("submissions") == 0


def test_idempotency_key_makes_retries_safe(api, tokens, app):
    headers = {**bearer(tokens["staff_ch"]), "Idempotency-Key": "pda-7-0042"}
    first = api.post("/api/forms/QR-10-99/submissions", json=GOOD, headers=headers).json()
    again = api.post("/api/forms/QR-10-99/submissions", json=GOOD, headers=headers).json()
    assert first["number"] == again["number"] and app.state.store.count("submissions") == 1


def test_roles_and_scoping_through_the_api(api, tokens):
    other = {**GOOD, "fields": {**GOOD["fields"], "project": "JJ"}}
    refused = check(
        api.post("/api/forms/QR-10-99/submissions", json=other, headers=bearer(tokens["staff_ch"])),
        422,
        "Problem",
    )
    assert refused["errors"] == [
        {"path": "fields.project", "message": "管理处：您只能提交本管理处（翠湖花园管理处）的记录"}
    ]
    check(
        api.post("/api/forms/QR-10-99/submissions", json=GOOD, headers=bearer(tokens["auditor"])),
        403,
        "Problem",
    )
    number = api.post(
        "/api/forms/QR-10-99/submissions", json=other, headers=bearer(tokens["quality"])
    ).json()["number"]
    check(api.get(f"/api/submissions/{number}", headers=bearer(tokens["staff_ch"])), 404, "Problem")
    check(
        api.get(f"/api/submissions/{number}", headers=bearer(tokens["staff_jj"])), 200, "Submission"
    )
    assert (
        check(
            api.get("/api/submissions", headers=bearer(tokens["staff_ch"])), 200, "SubmissionList"
        )["total"]
        == 0
    )
    assert (
        check(
            api.get("/api/submissions", headers=bearer(tokens["auditor"])), 200, "SubmissionList"
        )["total"]
        == 1
    )
    check(
        api.get("/api/submissions?project=JJ", headers=bearer(tokens["staff_ch"])), 403, "Problem"
    )


def test_list_filters_and_paging(api, tokens):
    for _ in range(3):
        api.post("/api/forms/QR-10-99/submissions", json=GOOD, headers=bearer(tokens["staff_ch"]))
    page = check(
        api.get(
            "/api/submissions?form=QR-10-99&limit=2&offset=1", headers=bearer(tokens["quality"])
        ),
        200,
        "SubmissionList",
    )
    assert page["total"] == 3
    assert [d["number"] for d in page["items"]] == [
        "QR-10-99-20261121-0002",
        "QR-10-99-20261121-0001",
    ]
    bad = check(
        api.get("/api/submissions?limit=0&from=yesterday", headers=bearer(tokens["quality"])),
        422,
        "Problem",
    )
    assert [e["path"] for e in bad["errors"]] == ["limit", "from"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_photo_upload_then_reference(api, tokens, app):
    upload = api.post(
        "/api/attachments",
        content=PNG,
        headers={**bearer(tokens["staff_ch"]), "Content-Type": "image/png", "X-Filename": "a.png"},
    )
    photo = check(upload, 201, "Attachment")["id"]
    data = {**GOOD, "items": {**GOOD["items"], "a1": {"result": "不合格", "photos": [photo]}}}
    body = api.post(
        "/api/forms/QR-10-99/submissions", json=data, headers=bearer(tokens["staff_ch"])
    ).json()
    assert body["attachments"] == [photo]
    client = TestClient(app)
    assert api.get(f"/attachments/{photo}", headers=bearer(tokens["staff_ch"])).content == PNG
    assert api.get(f"/attachments/{photo}", headers=bearer(tokens["staff_jj"])).status_code == 404
    assert client  # unauthenticated access is covered by the login tests


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        pytest.param(b"GIF89a-not-allowed", 415, "不是支持的图片格式", id="not-an-allowed-image"),
        pytest.param(b"", 422, "是空文件", id="empty"),
        pytest.param(
            b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024), 413, "照片超过 5 MB", id="too-large"
        ),
    ],
)
def test_bad_uploads_are_refused(api, tokens, app, content, status, message):
    response = api.post(
        "/api/attachments",
        content=content,
        headers={**bearer(tokens["staff_ch"]), "Content-Type": "image/jpeg"},
    )
    assert (
        check(response, status, "Problem")["detail"].endswith(message)
        or message in response.json()["detail"]
    )
    assert app.state.store.count("attachments") == 0


def test_unknown_photo_ids_are_refused(api, tokens):
    data = {**GOOD, "items": {**GOOD["items"], "a1": {"result": "不合格", "photos": ["0" * 32]}}}
    body = check(
        api.post("/api/forms/QR-10-99/submissions", json=data, headers=bearer(tokens["staff_ch"])),
        422,
        "Problem",
    )
    assert body["errors"] == [
        {"path": "attachments", "message": f"照片编号不存在：{'0' * 32}（请先上传照片）"}
    ]


def test_unknown_api_path_is_a_json_404(api, tokens):
    body = check(api.get("/api/nothing", headers=bearer(tokens["staff_ch"])), 404, "Problem")
    assert re.match(r"没有此接口", body["detail"])
