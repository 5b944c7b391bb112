"""What people click, in a real browser: Playwright driving Debian's Chromium.

The real manual (built once per run), the real record forms and company
configuration, a real server process, and two published editions (from the
editions test's repository). On failure each test leaves a screenshot in
``test-artifacts/`` (git-ignored) for a person to look at.

CI installs the browser with ``apt-get install chromium`` (.ci/run); nothing is
downloaded by Playwright.
"""

from __future__ import annotations

import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.serverkit import PASSWORD, Server
from tests.sitekit import ROOT
from tests.test_editions import repo  # noqa: F401  (module fixture: two published editions)

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}  # fmt: skip
DESKTOP = {
    "viewport": {"width": 1280, "height": 900},
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


def png(path: Path) -> Path:
    """A real 2×2 PNG photo."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x80\x80\x80" * 2 for _ in range(2))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))  # fmt: skip
    return path


@pytest.fixture(scope="module")
def server(real_site, repo, tmp_path_factory):  # noqa: F811
    assert real_site.ok, real_site.output
    assert Path(CHROMIUM).exists(), (
        "Debian's chromium is required (.ci/run installs it: apt-get install chromium)"
    )
    server = Server(tmp_path_factory.mktemp("browser"), site_dir=real_site.site, forms_dir=ROOT / "data" / "forms",
                    config_file=ROOT / "data" / "qms.yml", editions_dir=repo / "editions")  # fmt: skip
    server.add_user(
        "chen", "staff", "--project", "CH", "--team", "客户服务中心", "--name", "陈晓东"
    )
    server.add_user("zhang", "quality", "--name", "张慧敏")
    server.add_user("shen", "auditor", "--name", "沈审核")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def open_page(browser, server, request):
    """``open_page(user, **context options)`` → a logged-in page; screenshots on failure."""
    pages: list[Page] = []

    def make(username: str, device: dict) -> Page:
        context = browser.new_context(base_url=server.base, **device)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e} {e.stack}"))
        page.on(
            "console",
            lambda m: print(f"[console {m.type}] {m.text}") if m.type == "error" else None,
        )
        page.errors = errors  # type: ignore[attr-defined]
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/forms/$"))
        pages.append(page)
        return page

    yield make
    failed = getattr(request.node, "rep_call", None) and request.node.rep_call.failed
    for i, page in enumerate(pages):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"{request.node.name}-{i}.png", full_page=True)
        page.context.close()


def test_staff_reads_searches_and_submits_a_checklist_on_a_phone(open_page, server, tmp_path):
    page = open_page("chen", PHONE)
    # Open a procedure of the manual.
    page.goto("/procedures/qp-10/")
    expect(page.locator("h1")).to_contain_text("QP-10")
    expect(page.locator(".qms-doc-header")).to_contain_text("受控")
    # Confirm having read it: one click, and the box says so.
    box = page.locator(".qms-ack")
    box.get_by_role("button", name=re.compile("我已阅读并理解本文件")).click()
    expect(box).to_have_attribute("data-state", "已确认")
    expect(box).to_contain_text("确认阅读本文件")
    # Its flowchart is drawn by the self-hosted mermaid (Material replaces the code block by
    # a div.mermaid holding the drawing in a closed shadow root).
    expect(page.locator("div.mermaid").first).to_be_visible(timeout=15_000)
    assert page.locator("div.mermaid").first.bounding_box()["height"] > 100
    expect(page.locator("pre.mermaid")).to_have_count(0)
    # Search the manual in Chinese.
    page.wait_for_load_state("networkidle")  # the search index is loaded by a worker
    page.click('label[for="__search"]')
    box = page.locator("input.md-search__input")
    expect(box).to_be_focused()
    box.press_sequentially("投诉", delay=50)
    # Chinese text arrives as one input event without key events (as from an IME before its
    # commit key); Material reads the query on key events, so press the key that commits it.
    box.press("End")
    results = page.locator(".md-search-result__item")
    expect(results.first).to_be_visible(timeout=15_000)
    assert "投诉" in results.first.inner_text()
    page.keyboard.press("Escape")
    # From the procedure to its daily checklist, and on to the online form.
    page.goto("/procedures/qp-10/")
    page.locator("article a[href$='records/qr-10-01/']").first.click()
    expect(page.locator("h1")).to_contain_text("QR-10-01")
    page.get_by_role("link", name="在线填写").click()
    page.wait_for_url(re.compile(r"/forms/QR-10-01/new$"))
    expect(page.locator("h1")).to_contain_text("清洁服务日检表")
    # Fill it in: every item checked, one failed with a note and a photo.
    page.fill("input[name='f.checker']", "陈晓东")
    for count in page.locator("input.count").all():
        count.fill("0")
    for item in page.locator(".item[data-mode=pass_fail]").all():
        item.get_by_label("合格", exact=True).check()
    entrance = page.locator("#item-entrance")
    entrance.get_by_label("不合格", exact=True).check()
    expect(entrance.locator("details.nc")).to_have_attribute("open", "")  # opened by the script
    entrance.locator("textarea").fill("东门地垫破损，未放置警示牌")
    entrance.locator("input[type=file]").set_input_files(str(png(tmp_path / "地垫.png")))
    page.get_by_role("button", name=re.compile("提交")).click()
    # The receipt: record number and score.
    receipt = page.locator(".notice.success")
    expect(receipt).to_contain_text("提交成功")
    number = re.search(r"QR-10-01-\d{8}-\d{4}", receipt.inner_text()).group(0)
    expect(receipt).to_contain_text("得分")
    expect(page.locator("img.thumb")).to_have_count(1)
    assert page.errors == []  # type: ignore[attr-defined]
    server.last_inspection = number  # the next test re-inspects it


def test_quality_reinspects_and_reads_the_monthly_report(open_page, server):
    number = getattr(server, "last_inspection", None)
    assert number, "runs after the staff test (same module)"
    page = open_page("zhang", DESKTOP)
    page.goto("/notices/?status=待整改")
    row = page.locator("table.data tbody tr", has_text=number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("出入口及地垫")
    row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("整改通知书")
    expect(page.locator("body")).to_contain_text("东门地垫破损")
    page.get_by_role("link", name="复查这次检查的未关闭项").click()
    page.get_by_label("合格", exact=True).first.check()
    page.get_by_role("button", name=re.compile("复查")).click()
    expect(page.locator("h1")).to_contain_text("复查记录")
    page.goto("/notices/?status=已关闭")
    expect(page.locator("table.data tbody tr", has_text=number)).to_have_count(1)
    page.goto("/reports/monthly?unit=CH")
    expect(page.locator("h1")).to_contain_text("月度质量报告")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("table.data").first).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]


def test_auditor_browses_an_older_edition_and_a_redline(open_page):
    page = open_page("shen", DESKTOP)
    page.goto("/editions/2026.1/procedures/qp-01/")
    expect(page.locator("h1")).to_contain_text("QP-01")
    banner = page.locator("[data-md-component=outdated]")
    expect(banner).to_be_visible()  # Material decides from versions.json that 2026.1 is old
    expect(banner).to_contain_text("您正在查看旧版本")
    expect(page.locator(".md-version__current")).to_have_text("2026.1")
    banner.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/editions/latest/procedures/qp-01/$"))
    expect(page.locator("body")).to_contain_text("每半年组织一次文件评审")
    expect(page.locator("[data-md-component=outdated]")).to_be_hidden()
    page.get_by_role("link", name="历次修订与版本对比").click()
    page.get_by_role("link", name="A/0 → A/1").click()
    expect(page.locator(".qms-redline ins").first).to_be_visible()
    expect(page.locator(".qms-redline")).to_contain_text("品质管理部每半年组织一次文件评审")
    assert page.errors == []  # type: ignore[attr-defined]
