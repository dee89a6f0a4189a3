"""The console in a real browser: headless Chromium (Debian's) driven by Playwright against the real app.

Sign in, find the draft in the queue, approve it in two steps, reject with a reason, be refused a form
whose CSRF token was removed, follow a link from another site (Slack), sign out. The draft page is
saved as tests/artifacts/console-draft.png (desktop) and console-draft-390.png (a 390 px phone).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, Page, Route, ViewportSize, expect, sync_playwright

from spendgate_core.contracts.jobs import apply_job_id
from spendgate_core.domain.models import DraftStatus
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps
from tests.support.stack import US, World

from .conftest import propose, queued_jobs

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)  # a fresh profile: no cookies from other tests
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/console/login")
    page.get_by_label("Approver token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{url}/console/")


def fits_the_screen(page: Page) -> bool:
    """No sideways scrolling: the page is no wider than the viewport."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_sign_in_and_approve_in_two_steps(
    page: Page,
    console_url: str,
    world: World,
    core: CoreDeps,
    people: dict[str, Principal],
    redis_client: redis.Redis,
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    campaign = draft.changes[0].entity_id
    sign_in(page, console_url, world.tokens.alice)

    row = page.get_by_role("row").filter(has_text=draft.id)
    expect(row).to_contain_text("+50.00 USD")
    expect(row).to_contain_text("0 of 1")
    row.get_by_role("link", name=re.compile(campaign)).click()
    expect(page).to_have_url(f"{console_url}/console/drafts/{draft.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Budget change in acc_us_001")
    expect(page.get_by_role("table").filter(has_text="Live now")).to_contain_text(campaign)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-draft.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "console-draft-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    # Step one: arm. The page now offers the confirm button with a running countdown.
    page.get_by_role("button", name="Approve & push live").click()
    confirm = page.get_by_role("button", name="Confirm — push live")
    expect(confirm).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Step 1 done")
    timer = page.get_by_role("timer")
    expect(timer).to_have_text(re.compile(r"^[12]:\d\d$"))
    first = timer.inner_text()
    expect(timer).not_to_have_text(first, timeout=3_000)  # it ticks
    assert core.store.get(draft.id).status is DraftStatus.ARMED
    page.set_viewport_size(PHONE)
    assert fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "console-draft-armed-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    # Step two: confirm. Approved, with exactly one apply job queued.
    confirm.click()
    expect(page.get_by_role("status")).to_contain_text("Approved. The change is queued to go live.")
    expect(page.locator(".summary .badge")).to_have_text("Approved, queued")
    expect(page.get_by_role("button", name="Approve & push live")).to_have_count(0)
    approved = core.store.get(draft.id)
    assert approved.status is DraftStatus.APPROVED
    assert [(a.principal, a.channel) for a in approved.approvals] == [("alice@example.com", "console")]
    assert queued_jobs(redis_client) == [apply_job_id(draft.id, approved.version)]


def test_reject_with_a_reason(
    page: Page, console_url: str, world: World, core: CoreDeps, people: dict[str, Principal]
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    sign_in(page, console_url, world.tokens.bob)
    page.goto(f"{console_url}/console/drafts/{draft.id}")

    page.get_by_text("Reject this draft…").click()
    reject = page.get_by_role("button", name="Reject", exact=True)
    reject.click()  # no reason: the browser keeps the form (the field is required), nothing is sent
    expect(page).to_have_url(f"{console_url}/console/drafts/{draft.id}")
    assert core.store.get(draft.id).version == 1

    page.get_by_label("Why are you rejecting it?").fill("Not during the product launch freeze.")
    reject.click()
    expect(page.get_by_role("status")).to_contain_text("Rejected.")
    expect(page.locator(".outcome")).to_contain_text("Not during the product launch freeze.")
    rejected = core.store.get(draft.id)
    assert rejected.status is DraftStatus.REJECTED
    assert rejected.decision_reason == "Not during the product launch freeze."
    assert rejected.decided_by == "bob@example.com"


def test_a_form_without_its_csrf_token_is_refused(
    page: Page,
    console_url: str,
    world: World,
    core: CoreDeps,
    people: dict[str, Principal],
    redis_client: redis.Redis,
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    sign_in(page, console_url, world.tokens.alice)
    page.goto(f"{console_url}/console/drafts/{draft.id}")

    page.evaluate('document.querySelector(\'form[action$="/arm"] input[name="csrf_token"]\').remove()')
    with page.expect_response(lambda r: r.url.endswith(f"/console/drafts/{draft.id}/arm")) as answer:
        page.get_by_role("button", name="Approve & push live").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Request refused")
    expect(page.locator("main")).to_contain_text("Nothing was changed")

    # A forged token value fares no better.
    page.goto(f"{console_url}/console/drafts/{draft.id}")
    page.evaluate(
        "document.querySelector('form[action$=\"/arm\"] input[name=\"csrf_token\"]').value = 'forged'"
    )
    with page.expect_response(lambda r: r.url.endswith("/arm")) as forged:
        page.get_by_role("button", name="Approve & push live").click()
    assert forged.value.status == 403

    stored = core.store.get(draft.id)
    assert (stored.status, stored.version, stored.arms) == (DraftStatus.PENDING, 1, ())
    assert [e.action for e in core.ledger.latest(limit=50) if e.draft_id == draft.id] == ["draft"]
    assert queued_jobs(redis_client) == []


def test_a_link_from_another_site_opens_the_draft(
    page: Page, console_url: str, world: World, core: CoreDeps, people: dict[str, Principal]
) -> None:
    """As from a Slack message: a cross-site link, where the browser withholds the SameSite=Strict cookie."""
    draft = propose(core, people["agent"], account=US, increase=5_000)
    link = f"{console_url}/console/drafts/{draft.id}"

    def chat(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=f'<a id="open" href="{link}">Open draft</a>')

    page.route("http://chat.example/**", chat)

    # Signed out: the link leads to sign-in, and signing in lands on the draft.
    page.goto("http://chat.example/message")
    page.click("#open")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label("Approver token").fill(world.tokens.alice)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(link)

    # Signed in: the link opens the draft straight away (after one same-site reload).
    page.goto("http://chat.example/message")
    page.click("#open")
    expect(page).to_have_url(link)
    expect(page.get_by_role("button", name="Approve & push live")).to_be_visible()


def test_sign_out_hides_every_draft(
    page: Page, console_url: str, world: World, core: CoreDeps, people: dict[str, Principal]
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    sign_in(page, console_url, world.tokens.alice)
    expect(page.locator("main")).to_contain_text(draft.id)
    page.set_viewport_size(PHONE)
    assert fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "console-queue-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{console_url}/console/login?signed_out=1")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    assert not [c for c in page.context.cookies() if c["name"] == "spendgate_session"]

    for path in ("/console/", f"/console/drafts/{draft.id}", "/console/audit"):
        page.goto(f"{console_url}{path}")
        expect(page).to_have_url(re.compile(r"/console/login\?next="))
        shown = page.locator("main").inner_text()  # the form's hidden `next` echoes the URL, nothing more
        assert draft.id not in shown and "+50.00 USD" not in shown and draft.reason not in shown


def test_audit_and_operations_pages_read_well_on_a_phone(
    page: Page, console_url: str, world: World, core: CoreDeps, people: dict[str, Principal]
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    sign_in(page, console_url, world.tokens.viewer)
    page.set_viewport_size(PHONE)

    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Chain verification")).to_be_visible()
    expect(page.locator(".verify")).to_contain_text("Verified")
    expect(page.locator("main")).to_contain_text(draft.id)
    assert fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "console-audit-390.png"), full_page=True)

    page.get_by_role("link", name="Operations").click()
    expect(page.get_by_role("heading", name="Circuit breakers")).to_be_visible()
    expect(page.locator(".circuit-closed")).to_have_count(3)
    assert fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "console-ops-390.png"), full_page=True)

    # A viewer reads the draft but is offered no decision.
    page.goto(f"{console_url}/console/drafts/{draft.id}")
    expect(page.locator(".decision")).to_contain_text("deciding needs the approver or admin role")
    expect(page.get_by_role("button", name="Approve & push live")).to_have_count(0)
    expect(page.get_by_text("Reject this draft…")).to_have_count(0)
