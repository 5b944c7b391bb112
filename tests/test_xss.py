"""Output escaping: user text is inert on every page that shows it; CSV and Excel cells never run.

A script payload is typed into every text field of every real form definition in
data/forms/ (and into every item's note and location of every checklist), into the
complaint workflow's notes, the re-inspection notes, user names, token names and
query strings. Each page that shows the text must show it escaped, and no page may
carry it raw. Exports are attachments of type text/csv or xlsx, and a cell that
starts like a formula (= + - @) is written as text.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import urllib.parse
import zipfile
from dataclasses import dataclass, field

import openpyxl
import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from forms_server.definitions import FormDef
from tests.conftest import USERS, app_with, csrf_of, login, make_env, number_of
from tests.sitekit import ROOT
from tests.test_acknowledgements import doc, publish
from tests.test_api import PNG

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(1)>\"'"
SHORTER = ("<img src=x onerror=alert(1)>\"'", "<q onclick=alert(1)>", "<q>\"'", '<q>"')
#: What a payload looks like when it was not escaped: any of these in a page fails.
RAW = re.compile(r"<script>alert|<img src=x|<q[ >]", re.I)
TEXT_TYPES = ("text", "textarea", "location", "person", "signature")


def typed(limit: int, n: int) -> str:
    """The longest payload that fits ``limit`` characters, numbered where it fits."""
    for candidate in (f"{PAYLOAD}#{n}", PAYLOAD, *SHORTER):
        if len(candidate) <= limit:
            return candidate
    raise AssertionError(f"no payload fits {limit} characters")


def inert(response, *shown: str, status: int = 200) -> str:
    """The page is HTML, carries no raw payload, and shows each of ``shown`` escaped."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert RAW.findall(html) == []
    assert [s for s in shown if str(escape(s)) not in html] == []
    return html


# A world with every real form ---------------------------------------------------------


@dataclass
class Filled:
    """A submission of one form with a payload in every text input."""

    form: FormDef
    data: dict
    files: dict
    texts: dict[str, str]  # input name → what was typed
    number: str = ""


@dataclass
class World:
    app: object
    clients: dict[str, TestClient]
    filled: dict[str, Filled] = field(default_factory=dict)


def fill(form: FormDef, counter) -> Filled:
    """Valid values everywhere, the payload in every free-text input; checklist items fail."""
    data, files, texts = {}, {}, {}
    for f in form.fields:
        name = f"f.{f.key}"
        if f.type in TEXT_TYPES:
            data[name] = texts[name] = typed(f.max_length, next(counter))
        elif f.type == "number":
            low = f.min if f.min is not None else 0
            data[name] = str(min(low, f.max) if f.max is not None else low)
        elif f.type in ("choice", "multichoice"):
            data[name] = f.options[0]
        elif f.type == "photo":
            if f.required:
                files[name] = ("签到表.png", PNG, "image/png")
        else:
            data[name] = {"date": "2026-11-21", "time": "09:00", "project": "CH",
                          "phone": "13812341234", "yesno": "否"}[f.type]  # fmt: skip
    for item in form.items:
        base = f"i.{item.key}"
        if item.mode == "deduct":
            data[f"{base}.count"] = "1"
        elif item.mode == "tiered":
            data[f"{base}.result"] = min(item.tiers, key=lambda t: t.points).label
        else:
            data[f"{base}.result"] = "不符合" if item.mode == "check" else "不合格"
        for part, limit in (("note", 500), ("location", 100)):
            data[f"{base}.{part}"] = texts[f"{base}.{part}"] = typed(limit, next(counter))
    return Filled(form, data, files, texts)


@pytest.fixture(scope="module")
def world(tmp_path_factory, password_hash):
    base = make_env(tmp_path_factory.mktemp("xss"))
    publish(base, [doc("QP-01", title="文件控制程序"), doc("QP-02", title=f"程序{PAYLOAD}")])
    app = app_with(base, password_hash, forms_dir=ROOT / "data" / "forms")
    with TestClient(app):
        clients = {name: login(app, name) for name in USERS}
        world = World(app, clients)
        quality, counter = clients["quality"], itertools.count(1)
        for code, form in sorted(app.state.forms.items()):
            filled = fill(form, counter)
            response = quality.post(f"/forms/{code}/new", data={**filled.data, "csrf_token": csrf_of(quality)},
                                    files=filled.files or None)  # fmt: skip
            assert response.status_code == 303, (code, response.text[:2000])
            filled.number = number_of(response)
            world.filled[code] = filled
        yield world


def test_every_real_form_is_filled_with_payloads(world):
    forms = world.app.state.forms
    assert len(world.filled) == len(forms) >= 80
    fields = sum(1 for f in world.filled.values() for name in f.texts if name.startswith("f."))
    notes = sum(1 for f in world.filled.values() for name in f.texts if name.startswith("i."))
    assert fields == sum(1 for f in forms.values() for x in f.fields if x.type in TEXT_TYPES)
    assert notes == 2 * sum(len(f.items) for f in forms.values())
    assert fields > 400 and notes > 500


def test_submission_pages_show_every_payload_escaped(world):
    quality = world.clients["quality"]
    for code, filled in world.filled.items():
        inert(quality.get(f"/submissions/{filled.number}"), *filled.texts.values())
        listed = [
            filled.texts[f"f.{f.key}"]
            for f in filled.form.fields
            if f.list and f.type in TEXT_TYPES
        ]
        inert(quality.get(f"/submissions/?form={code}"), *listed)
    inert(quality.get("/submissions/"))
    inert(world.clients["auditor"].get(f"/submissions/{world.filled['QR-12-01'].number}"))


def test_a_refused_form_shows_what_was_typed_escaped(world):
    """A form sent back with errors refills every input with the typed text, escaped."""
    quality = world.clients["quality"]
    unknown = f"f.{PAYLOAD}"
    for code, filled in world.filled.items():
        response = quality.post(f"/forms/{code}/new",
                                data={**filled.data, unknown: "1", "csrf_token": csrf_of(quality)})  # fmt: skip
        inert(response, *filled.texts.values(), f"表单中没有栏目“{unknown}”", status=422)


def test_photo_names_in_error_messages_are_escaped(world):
    quality = world.clients["quality"]
    filled = world.filled["QR-12-01"]
    name = "<img src=x onerror=alert(1)>.png"
    response = quality.post("/forms/QR-12-01/new", data={**filled.data, "csrf_token": csrf_of(quality)},
                            files={"f.photos": (name, b"not an image", "image/png")})  # fmt: skip
    inert(response, f"“{name}”不是支持的图片格式（JPEG、PNG、WebP、HEIC）", status=422)


def test_csv_export_keeps_payloads_as_plain_cells(world):
    quality = world.clients["quality"]
    for code in ("QR-10-01", "QR-12-01", "QR-19-03"):
        filled = world.filled[code]
        response = quality.get(f"/submissions.csv?form={code}")
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"].startswith("attachment;")
        header, row = csv_rows(response.content)
        assert len(row) == len(header)  # quotes in the payload did not add or shift columns
        cells = dict(zip(header, row, strict=True))
        assert {f.label: cells[f.label] for f in filled.form.fields if f.type in TEXT_TYPES} == {
            f.label: filled.texts[f"f.{f.key}"] for f in filled.form.fields if f.type in TEXT_TYPES
        }


# Workflows ---------------------------------------------------------------------------------


def test_complaint_pages_show_intake_and_workflow_notes_escaped(world):
    service, worker, quality = (world.clients[n] for n in ("staff_ch", "worker_ch", "quality"))
    filled = world.filled["QR-12-01"]
    number = filled.number
    notes = {
        step: f"{PAYLOAD}#{step}"
        for step in ("dispatch", "start", "resolve", "visit", "again", "close")
    }
    handler = typed(30, 0)

    def act(client, action, **data):
        response = client.post(f"/complaints/{number}",
                               data={"action": action, "csrf_token": csrf_of(client), **data})  # fmt: skip
        assert response.status_code == 303, response.text[:1000]

    # Refused (no such team): what was typed comes back, escaped; an unknown action is named.
    refused = service.post(f"/complaints/{number}", data={"action": "dispatch", "team": PAYLOAD,
                           "handler": handler, "note": notes["dispatch"], "csrf_token": csrf_of(service)})  # fmt: skip
    inert(refused, handler, notes["dispatch"], status=422)
    unknown = service.post(
        f"/complaints/{number}", data={"action": PAYLOAD, "csrf_token": csrf_of(service)}
    )
    inert(unknown, f"未知操作“{PAYLOAD}”", status=422)
    act(service, "dispatch", team="工程维修班", handler=handler, note=notes["dispatch"])
    act(worker, "start", note=notes["start"])
    act(worker, "resolve", note=notes["resolve"])
    act(service, "visit", satisfaction="不满意", method="电话", note=notes["visit"])
    act(worker, "resolve", note=notes["again"])
    act(service, "visit", satisfaction="满意", method="上门", note=notes["close"])
    intake = [filled.texts[k] for k in ("f.owner_name", "f.room", "f.content")]
    inert(quality.get(f"/complaints/{number}"), *intake, handler, *notes.values())
    inert(world.clients["auditor"].get(f"/complaints/{number}"), *intake, *notes.values())
    inert(quality.get("/complaints/"), filled.texts["f.owner_name"], filled.texts["f.room"])
    inert(quality.get(f"/history/complaints/{number}"), handler, *notes.values())
    inert(quality.get(f"/history/submissions/{number}"))


def test_a_rejected_complaint_shows_its_reason_escaped(world):
    service, quality = world.clients["staff_ch"], world.clients["quality"]
    filled = world.filled["QR-12-01"]
    data = {**filled.data, "csrf_token": csrf_of(service)}
    number = number_of(service.post("/forms/QR-12-01/new", data=data))
    reason = f"{PAYLOAD}#reject"
    response = service.post(f"/complaints/{number}", data={"action": "reject", "note": reason,
                            "csrf_token": csrf_of(service)})  # fmt: skip
    assert response.status_code == 303
    inert(quality.get(f"/complaints/{number}"), f"非有效投诉：{reason}")
    inert(quality.get(f"/history/complaints/{number}"), f"非有效投诉：{reason}")


def test_rectification_pages_show_notes_escaped(world):
    """Item notes become the notices' facts; re-inspection notes follow them everywhere."""
    quality = world.clients["quality"]
    store = world.app.state.store
    filled = world.filled["QR-10-01"]
    number = filled.number
    notices = store.derived_of(number)["notices"]
    assert len(notices) == len(filled.form.items)
    page = inert(quality.get(f"/submissions/{number}/reinspect"))
    for n in notices:
        assert str(escape(n["description"])) in page
        inert(quality.get(f"/notices/{n['number']}"), n["description"], n["location"])
    assert {n["description"] for n in notices} == {
        filled.texts[f"i.{i.key}.note"] for i in filled.form.items
    }
    results = {f"r.{n['number']}": "合格" for n in notices} | {
        f"r.{notices[0]['number']}": "不合格"
    }
    remarks = {f"n.{n['number']}": f"{PAYLOAD}#fc{i}" for i, n in enumerate(notices)}
    # Refused (one item left unrated): every typed remark comes back, escaped.
    partial = {k: v for k, v in results.items() if k != f"r.{notices[-1]['number']}"}
    refused = quality.post(f"/submissions/{number}/reinspect",
                           data={**partial, **remarks, "csrf_token": csrf_of(quality)})  # fmt: skip
    inert(refused, *remarks.values(), status=422)
    done = quality.post(f"/submissions/{number}/reinspect",
                        data={**results, **remarks, "csrf_token": csrf_of(quality)})  # fmt: skip
    assert done.status_code == 303
    record = number_of(done)
    inert(quality.get(f"/reinspections/{record}"), *remarks.values())
    first = store.get("notices", notices[0]["number"])
    again = store.get("notices", first["next"])
    assert (
        again["description"]
        == f"{notices[0]['description']}（复查：{remarks['n.' + first['number']]}）"
    )
    inert(quality.get(f"/notices/{first['number']}"), remarks[f"n.{first['number']}"])
    inert(quality.get(f"/notices/{again['number']}"), again["description"])
    inert(quality.get(f"/submissions/{number}/reinspect"), again["description"])
    inert(quality.get("/notices/"))
    inert(quality.get(f"/history/notices/{first['number']}"), remarks[f"n.{first['number']}"])
    inert(quality.get(f"/history/reinspections/{record}"))
    inert(quality.get(f"/submissions/{number}"), *filled.texts.values())


def test_reports_show_typed_names_escaped(world):
    """The monthly report names the assessors as typed on the 考核 checklist (QR-10-16)."""
    quality = world.clients["quality"]
    assessor = world.filled["QR-10-16"].texts["f.assessor"]
    inert(quality.get("/reports/monthly?month=2026-11&unit=CH"), assessor)
    for kind in ("complaints", "inspections", "objectives"):
        inert(quality.get(f"/reports/{kind}?from=2026-10&to=2026-11&unit=CH"))
    inert(quality.get("/reports/"))


# People and documents -------------------------------------------------------------------------


def test_user_and_token_names_are_escaped_wherever_shown(world):
    admin = world.clients["admin"]
    name, token_name = f"{PAYLOAD}#user", typed(50, 0)
    created = admin.post("/admin/users", data={"csrf_token": csrf_of(admin, "/admin/users"), "action": "create",
                         "username": "xss", "display_name": name, "role": "staff", "project": "CH",
                         "password": "Payload-2026", "password2": "Payload-2026"})  # fmt: skip
    inert(created, name)
    token = admin.post("/admin/users", data={"csrf_token": csrf_of(admin, "/admin/users"), "action": "token",
                       "username": "xss", "name": token_name})  # fmt: skip
    inert(token, token_name)
    refused = admin.post("/admin/users", data={"csrf_token": csrf_of(admin, "/admin/users"), "action": "create",
                         "username": PAYLOAD, "display_name": name, "role": "staff", "project": "CH",
                         "password": "Payload-2026", "password2": "Payload-2026"})  # fmt: skip
    inert(refused, PAYLOAD, name, status=422)  # the refused values come back in the inputs
    inert(admin.get("/admin/users"), name, token_name)
    inert(world.clients["quality"].get("/acknowledgements/"), name, f"程序{PAYLOAD}")
    inert(world.clients["auditor"].get("/admin/audit?verify=1"))
    own = login(world.app, "xss", "Payload-2026")
    inert(own.get("/forms/"), name)  # the header names the signed-in user
    inert(own.get("/acknowledgements/mine"), f"程序{PAYLOAD}")


def test_acknowledging_an_unknown_document_names_it_escaped(world):
    staff = world.clients["staff_ch"]
    response = staff.post("/acknowledgements/mine",
                          data={"code": PAYLOAD, "version": "A/0", "csrf_token": csrf_of(staff)})  # fmt: skip
    inert(response, f"没有现行有效的文件 {PAYLOAD}", status=404)


# Reflected input -------------------------------------------------------------------------------

#: No "/" in it, so that it stays one path segment.
SEGMENT = "<img src=x onerror=alert(1)>\"'"
Q = urllib.parse.quote(PAYLOAD)
REFLECTED = [
    pytest.param(f"/submissions/?submitted_by={Q}&from={Q}&to={Q}", 200, PAYLOAD, id="record-filters"),
    pytest.param(f"/submissions/?form={Q}", 200, "", id="record-form-filter"),
    pytest.param(f"/complaints/?state={Q}&category={Q}&urgency={Q}&project={Q}", 200, "", id="complaint-filters"),
    pytest.param(f"/notices/?status={Q}&project={Q}", 200, "", id="notice-filters"),
    pytest.param(f"/forms/{urllib.parse.quote(SEGMENT)}/new", 404, f"没有表格 {SEGMENT}", id="form-code"),
    pytest.param(f"/submissions/{urllib.parse.quote(SEGMENT)}", 404, f"没有记录 {SEGMENT}", id="record-number"),
    pytest.param(f"/complaints/{urllib.parse.quote(SEGMENT)}", 404, f"没有投诉 {SEGMENT}", id="complaint-number"),
    pytest.param(f"/history/{urllib.parse.quote(SEGMENT)}/1", 404, f"没有此类记录：{SEGMENT}", id="history-table"),
    pytest.param(f"/reports/{urllib.parse.quote(SEGMENT)}", 404, f"没有报表“{SEGMENT}”", id="report-kind"),
    pytest.param(f"/reports/monthly?unit={Q}", 422, f"没有管理处或分公司“{PAYLOAD}”", id="report-unit"),
    pytest.param(f"/reports/monthly?month={Q}", 422, "", id="report-month"),
    pytest.param(f"/acknowledgements/?project={Q}&team={Q}", 422, f"没有管理处“{PAYLOAD}”", id="matrix-filters"),
    pytest.param(f"/admin/evidence?from={Q}&to={Q}", 422, "", id="evidence-period"),
    pytest.param(f"/admin/audit?verify={Q}", 200, "", id="audit"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "status", "shown"), REFLECTED)
def test_query_and_path_text_is_reflected_escaped(world, url, status, shown):
    response = world.clients["quality"].get(url)
    inert(response, *([shown] if shown else []), status=status)


def test_login_page_reflects_username_and_target_escaped(world):
    client = TestClient(world.app, follow_redirects=False)
    page = client.get("/login", params={"next": f"/{PAYLOAD}"})
    inert(page, f"/{PAYLOAD}")
    token = csrf_of(client, "/login")
    # User names are cut to 50 characters before anything else.
    failed = client.post("/login", data={"username": SEGMENT, "password": "x", "csrf_token": token})
    inert(failed, SEGMENT, status=401)


def test_first_start_page_reflects_its_values_escaped(tmp_path):
    env = make_env(tmp_path)
    app = env.app()
    with TestClient(app, follow_redirects=False) as client:
        token = csrf_of(client, "/setup")
        response = client.post("/setup", data={"csrf_token": token, "code": PAYLOAD, "username": PAYLOAD,
                               "display_name": f"{PAYLOAD}#name", "password": "x"})  # fmt: skip
        inert(response, PAYLOAD, f"{PAYLOAD}#name", status=422)


# Spreadsheets --------------------------------------------------------------------------------------

FORMULAS = {
    "f.owner_name": '=HYPERLINK("http://x.cn")',
    "f.room": "+1+cmd|' /C calc'!A0",
    "f.content": "-2+3",
    "f.receiver": "@SUM(A1)",
}


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def assert_text_only(rows: list[list[str]], *values: str) -> None:
    """Each value is present as text (a leading '), and no cell starts like a formula."""
    cells = [c for row in rows for c in row]
    assert [c for c in cells if c[:1] in ("=", "+", "-", "@")] == []
    for value in values:
        assert any(c.startswith("'" + value) for c in cells), value


def assert_no_formulas(content: bytes, *values: str) -> None:
    book = openpyxl.load_workbook(io.BytesIO(content))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    for value in values:
        assert any(str(c.value).startswith("'" + value) for c in cells), value


def test_formulas_typed_into_records_stay_text_in_every_export(world):
    service, quality, admin = (world.clients[n] for n in ("staff_ch", "quality", "admin"))
    filled = world.filled["QR-12-01"]
    data = {**filled.data, **FORMULAS, "csrf_token": csrf_of(service)}
    response = service.post("/forms/QR-12-01/new", data=data)
    assert response.status_code == 303, response.text
    number = number_of(response)
    response = service.post(f"/complaints/{number}", data={"action": "dispatch", "team": "工程维修班",
                            "handler": "=1+1", "note": "@note", "csrf_token": csrf_of(service)})  # fmt: skip
    assert response.status_code == 303
    assessor = world.filled["QR-10-16"]
    # In 锦江华府 (JJ), where this is the month's only assessment: its cell starts with the name.
    audit = {
        **assessor.data,
        "f.project": "JJ",
        "f.assessor": "=2+3",
        "csrf_token": csrf_of(quality),
    }
    assert quality.post("/forms/QR-10-16/new", data=audit).status_code == 303
    created = admin.post("/admin/users", data={"csrf_token": csrf_of(admin, "/admin/users"), "action": "create",
                         "username": "formula", "display_name": "=cmd|' /C calc'!A0", "role": "quality",
                         "password": "Formula-2026", "password2": "Formula-2026"})  # fmt: skip
    assert created.status_code == 200

    assert_text_only(
        csv_rows(quality.get("/submissions.csv?form=QR-12-01").content), *FORMULAS.values()
    )
    assert_text_only(
        csv_rows(quality.get(f"/history/complaints/{number}?format=csv").content), "=1+1"
    )
    monthly = "/reports/monthly?month=2026-11&unit=JJ"
    assert_text_only(csv_rows(quality.get(f"{monthly}&format=csv").content), "=2+3")
    assert_no_formulas(quality.get(f"{monthly}&format=xlsx").content, "=2+3")
    assert_text_only(csv_rows(quality.get("/acknowledgements/?format=csv").content), "=cmd|")
    assert_no_formulas(quality.get("/acknowledgements/?format=xlsx").content, "=cmd|")
    evidence = quality.get("/admin/evidence?from=2026-11-01&to=2026-11-30")
    assert evidence.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(evidence.content)) as z:
        names = z.namelist()
        assert_text_only(csv_rows(z.read("投诉.csv")), FORMULAS["f.owner_name"], "=1+1")
        assert_text_only(csv_rows(z.read("记录/QR-12-01 业主投诉登记表.csv")), *FORMULAS.values())
        for name in names:
            if name.endswith(".csv"):
                assert_text_only(csv_rows(z.read(name)))
            elif name.endswith(".xlsx"):
                assert_no_formulas(z.read(name))
