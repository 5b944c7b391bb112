"""API fuzzing from the served OpenAPI document (schemathesis through ASGI: no network).

Every operation of /api/openapi.json gets schema-conforming and schema-violating
requests, authenticated with the bearer token of a user of each role. No response may be a 5xx; every status
must be documented for the operation and every body must match its documented schema;
requests that break the document must be refused with a 4xx.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from forms_server.openapi import PATHS
from tests.conftest import bearer
from tests.forms_kit import perfect_items

OPERATIONS = [(method.upper(), path) for path, methods in PATHS.items() for method in methods]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
# Each request is made as one of these (403s, and staff seeing only their 管理处).
USERS = ["quality", "staff_ch", "auditor", "admin"]
# Bounded for `make test`; follows the hypothesis profile (thorough: 20 times as many).
EXAMPLES = max(25, settings.default.max_examples // 2)


@pytest.fixture
def known(app, tokens) -> dict[str, list[dict[str, str]]]:
    """Path parameters naming things that exist: a checklist record and a complaint."""
    client = TestClient(app)
    checklist = {
        "fields": {"project": "CH", "date": "2026-11-21", "inspector": "陈晓东"},
        "items": {**perfect_items(), "a1": "不合格"},
    }
    complaint = {
        "fields": {
            "project": "CH", "received_date": "2026-11-21", "received_time": "09:00",
            "owner_name": "王业主", "room": "3-2-801", "phone": "13812341234",
            "category": "环境卫生", "urgency": "一般", "content": "楼道有垃圾",
        }
    }  # fmt: skip
    numbers = []
    for code, data in (("QR-10-99", checklist), ("QR-12-99", complaint)):
        response = client.post(
            f"/api/forms/{code}/submissions", json=data, headers=bearer(tokens["quality"])
        )
        assert response.status_code == 201, response.text
        numbers.append(response.json()["number"])
    forms = [{"code": "QR-10-99"}, {"code": "QR-12-99"}]
    return {
        "/api/forms/{code}": forms,
        "/api/forms/{code}/submissions": forms,
        "/api/submissions/{number}": [{"number": n} for n in numbers],
        "/api/history/{table}/{number}": [
            {"table": "submissions", "number": numbers[0]},
            {"table": "complaints", "number": numbers[1]},
        ],
    }


@pytest.fixture
def api_schema(app, tokens):
    """The document as the app serves it, to a client with a token."""
    return schemathesis.openapi.from_asgi(
        "/api/openapi.json", app, headers=bearer(tokens["quality"])
    )


def test_every_documented_operation_is_fuzzed(api_schema):
    served = {
        (op.method.upper(), op.path) for op in (r.ok() for r in api_schema.get_all_operations())
    }
    assert served == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_the_document(api_schema, known, tokens, method, path, mode):
    """Generated path parameters (mostly naming nothing) and ones naming real records."""
    operation = api_schema[path][method]
    fixed = [None] + (known.get(path, []) if re.search(r"\{\w+\}", path) else [])
    cases = st.one_of(
        [operation.as_strategy(generation_mode=mode, path_parameters=p) for p in fixed]
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=cases, user=st.sampled_from(USERS))
    def run(case, user):
        case.call_and_validate(headers=bearer(tokens[user]), checks=CHECKS)

    run()


# Found by the fuzzer; kept as plain examples -------------------------------------


@pytest.mark.parametrize(
    ("url", "path", "message"),
    [
        pytest.param(
            "/api/reports/monthly?month=0000-01",
            "month",
            "month 应为 2000–2100 年间的月份，如 2026-11",
            id="year-zero-was-a-500",
        ),
        pytest.param(
            "/api/reports/inspections?to=٢٠٢٦-11",
            "to",
            "to 应为 2000–2100 年间的月份，如 2026-11",
            id="non-ascii-digits-looped-forever",
        ),
        pytest.param(
            "/api/reports/monthly?from=11-2026",
            "from",
            "from 应为 2000–2100 年间的月份，如 2026-11",
            id="unused-but-malformed",
        ),
        pytest.param(
            "/api/submissions?from=2026-02-30",
            "from",
            "from 应为日期，如 2026-11-21",
            id="no-such-day",
        ),
        pytest.param(
            "/api/submissions?to=20261121", "to", "to 应为日期，如 2026-11-21", id="compact-date"
        ),
    ],
)
def test_malformed_query_values_are_refused(app, tokens, url, path, message):
    response = TestClient(app).get(url, headers=bearer(tokens["quality"]))
    assert response.status_code == 422
    assert response.json()["errors"] == [{"path": path, "message": message}]


def test_empty_query_values_mean_the_default(app, tokens):
    """As the pages' filter forms send them; the document allows them."""
    client = TestClient(app)
    assert (
        client.get("/api/submissions?from=&to=", headers=bearer(tokens["quality"])).status_code
        == 200
    )
    report = client.get("/api/reports/monthly?month=&from=&to=", headers=bearer(tokens["quality"]))
    assert report.status_code == 200 and report.json()["month"] == "2026-11"


def test_a_malformed_acknowledgement_body_gets_a_400_naming_the_json_error(app, tokens):
    response = TestClient(app).post(
        "/api/acknowledgements",
        content=b"\x00",
        headers={**bearer(tokens["staff_ch"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("请求体不是有效的 JSON：")
