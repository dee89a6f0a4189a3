"""Signing in and out of the console over real HTTP: who may, the cookie, the Redis session, and what
happens without one (every page sends you to sign in; the REST API never accepts the cookie)."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

import httpx
import redis

from spendgate_approvals.app import create_app
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps
from tests.integration.approvals.conftest import MovableClock, settings_for
from tests.support.servers import serve_in_thread
from tests.support.stack import US, World, write_principals

from .conftest import Person, hidden, propose, session_keys


def test_without_a_session_every_page_sends_you_to_sign_in(
    person: Any, core: CoreDeps, people: dict[str, Principal], console_url: str
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    stranger: Person = person("nobody")
    for path in (
        "/console/",
        f"/console/drafts/{draft.id}",
        "/console/audit",
        "/console/ops",
        "/console/nope",
    ):
        answer = stranger.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/console/login?next={quote(path, safe='')}"
        assert draft.id not in answer.text
    assert stranger.get("/console").headers["location"].endswith("/console/")

    # A form posted without a session changes nothing either.
    armed = stranger.post(f"/console/drafts/{draft.id}/arm", {"csrf_token": "x", "version": "1"})
    assert armed.status_code == 303 and armed.headers["location"].startswith("/console/login")
    assert core.store.get(draft.id).version == 1

    # The sign-in page and the static files are the only things served without a session.
    login = stranger.get("/console/login")
    assert login.status_code == 200 and 'name="token"' in login.text and draft.id not in login.text
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    assert login.headers["cache-control"] == "no-store"
    assert stranger.get("/console/static/console.css").status_code == 200
    assert stranger.get("/console/static/console.js").status_code == 200


def test_signing_in_sets_a_strict_http_only_cookie_and_a_redis_session(
    person: Any, redis_client: redis.Redis, people: dict[str, Principal]
) -> None:
    alice: Person = person("alice")
    answer = alice.sign_in()
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("spendgate_session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/console;" in cookie.lower() + ";"
    assert "secure" not in attributes  # the public URL is http in this world

    session_id = cookie.split(";")[0].split("=", 1)[1]
    key = f"sg:session:{hashlib.sha256(session_id.encode()).hexdigest()}"
    assert session_keys(redis_client) == [key]
    stored = {k.decode(): v.decode() for k, v in redis_client.hgetall(key).items()}
    assert stored["principal"] == "alice@example.com"
    assert stored["token_sha256"] == people["alice"].token_sha256
    assert 8 * 3600 - 60 < redis_client.ttl(key) <= 8 * 3600
    # The cookie's value is stored nowhere: a copy of Redis cannot be replayed as a session.
    assert all(session_id.encode() not in (redis_client.dump(k) or b"") for k in redis_client.keys("*"))

    queue = alice.get("/console/")
    assert queue.status_code == 200 and "alice@example.com" in queue.text
    assert hidden(queue.text, "csrf_token") == stored["csrf"]


def test_agents_and_unknown_tokens_cannot_sign_in(person: Any, redis_client: redis.Redis) -> None:
    agent: Person = person("agent")
    refused = agent.sign_in()
    assert refused.status_code == 403
    assert "claude is an AI agent" in refused.text and "only people can sign in" in refused.text
    unknown = agent.sign_in("sgh_not-a-real-token")
    assert unknown.status_code == 401 and "not recognised" in unknown.text
    empty = agent.sign_in("")
    assert empty.status_code == 401
    assert session_keys(redis_client) == []
    assert agent.get("/console/").status_code == 303


def test_the_sign_in_form_is_protected_against_forgery(
    person: Any, world: World, redis_client: redis.Redis
) -> None:
    alice: Person = person("alice")
    # Posted without the form's own cookie (as a forged cross-site form would be): refused.
    bare = alice.post("/console/login", {"token": world.tokens.alice, "login_csrf": "guess"})
    assert bare.status_code == 403 and "Sign-in refused" in bare.text
    # With the form's token, but from another site's page: refused on the Origin header.
    nonce = hidden(alice.get("/console/login").text, "login_csrf")
    forged = alice.post(
        "/console/login",
        {"token": world.tokens.alice, "login_csrf": nonce},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403
    assert session_keys(redis_client) == []


def test_the_cookie_never_authenticates_the_rest_api(alice: Person) -> None:
    assert alice.get("/console/").status_code == 200
    api = alice.get("/v1/drafts")
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthenticated"


def test_signing_out_needs_the_token_and_ends_the_session(alice: Person, redis_client: redis.Redis) -> None:
    assert alice.post("/console/logout").status_code == 403  # no CSRF token: refused, still signed in
    assert alice.get("/console/").status_code == 200
    old_cookies = dict(alice.client.cookies)

    out = alice.post("/console/logout", {"csrf_token": alice.csrf()})
    assert out.status_code == 303 and out.headers["location"] == "/console/login?signed_out=1"
    assert session_keys(redis_client) == []
    assert alice.get("/console/").status_code == 303
    assert "You are signed out" in alice.get("/console/login?signed_out=1").text

    # Replaying the old cookie after sign-out gets nothing.
    replay = httpx.get(f"{alice.url}/console/", cookies=old_cookies, follow_redirects=False)
    assert replay.status_code == 303


def test_a_session_ends_after_its_lifetime(alice: Person, clock: MovableClock) -> None:
    clock.advance(8 * 3600 - 10)
    assert alice.get("/console/").status_code == 200
    clock.advance(11)
    assert alice.get("/console/").status_code == 303


def test_rotating_a_token_ends_its_sessions(alice: Person, world: World) -> None:
    assert alice.get("/console/").status_code == 200
    write_principals(world.principals_file)  # every principal gets a fresh token
    assert alice.get("/console/").status_code == 303


def test_signing_in_replaces_any_session_the_browser_brought(
    alice: Person, redis_client: redis.Redis
) -> None:
    """No session fixation: a sign-in always starts a new session id and ends the one presented."""
    first = session_keys(redis_client)
    planted = alice.client.cookies["spendgate_session"]
    alice.client.cookies.clear()
    nonce = hidden(alice.get("/console/login").text, "login_csrf")
    answer = alice.post(
        "/console/login",
        {"token": alice.token, "login_csrf": nonce},
        headers={"Cookie": f"spendgate_session={planted}; spendgate_login={nonce}"},
    )
    assert answer.status_code == 303
    second = session_keys(redis_client)
    assert len(second) == 1 and second != first
    assert planted not in answer.headers["set-cookie"]


def test_after_signing_in_you_land_where_you_were_going(
    person: Any, core: CoreDeps, people: dict[str, Principal]
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    bob: Person = person("bob")
    sent = bob.get(f"/console/drafts/{draft.id}")
    form = bob.get(sent.headers["location"])
    assert hidden(form.text, "next") == f"/console/drafts/{draft.id}"
    answer = bob.post(
        "/console/login",
        {
            "token": bob.token,
            "login_csrf": hidden(form.text, "login_csrf"),
            "next": f"/console/drafts/{draft.id}",
        },
    )
    assert answer.headers["location"] == f"/console/drafts/{draft.id}"
    # Never an open redirect.
    carol: Person = person("carol")
    form = carol.get("/console/login")
    for target in ("//evil.example/x", "https://evil.example/", "/v1/drafts", "/console/\\evil"):
        answer = carol.post(
            "/console/login",
            {"token": carol.token, "login_csrf": hidden(form.text, "login_csrf"), "next": target},
        )
        assert answer.headers["location"] == "/console/", target
        form = carol.get("/console/login?next=/console/")  # already signed in: redirected
        assert form.status_code == 303
        carol.client.cookies.clear()
        form = carol.get("/console/login")


def test_a_link_from_another_site_reloads_once_to_get_the_strict_cookie(
    person: Any, core: CoreDeps, people: dict[str, Principal]
) -> None:
    """A browser withholds a SameSite=Strict cookie on a cross-site navigation (a link in Slack)."""
    draft = propose(core, people["agent"], account=US, increase=5_000)
    stranger: Person = person("nobody")
    answer = stranger.get(
        f"/console/drafts/{draft.id}", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    )
    assert answer.status_code == 200
    assert '<meta http-equiv="refresh" content="0">' in answer.text
    assert "Budget change" not in answer.text and "more reach" not in answer.text


def test_cookies_are_secure_when_the_console_is_served_over_https(world: World, clock: MovableClock) -> None:
    app = create_app(settings_for(world, public_url="https://approvals.example"), clock=clock)
    with serve_in_thread(app) as url, httpx.Client(follow_redirects=False) as client:
        form = client.get(f"{url}/console/login")
        assert "secure" in form.headers["set-cookie"].lower()
        # httpx keeps Secure cookies off plain http, as a browser would: send the form's cookie by hand.
        nonce = hidden(form.text, "login_csrf")
        answer = client.post(
            f"{url}/console/login",
            data={"token": world.tokens.alice, "login_csrf": nonce},
            headers={"Cookie": f"spendgate_login={nonce}"},
        )
        assert answer.status_code == 303
        session = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("spendgate_session="))
        assert "; secure" in session.lower()
