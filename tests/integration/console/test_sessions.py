"""The console's session store on real Redis: start, load, expiry on the service clock, flash and the
confirm token kept between the two steps, and no resurrection of an ended session by a late write."""

from __future__ import annotations

from datetime import timedelta

import redis

from spendgate_approvals.console.sessions import PendingConfirm, SessionStore
from spendgate_core.domain.principals import Principal
from tests.integration.approvals.conftest import MovableClock
from tests.support.stack import KEYS

ALICE = Principal(
    name="alice@example.com", kind="human", token_sha256="a" * 64, roles=("approver",), accounts=("*",)
)


def store(client: redis.Redis, clock: MovableClock) -> SessionStore:
    return SessionStore(client, clock=clock, ttl=timedelta(hours=8), keys=KEYS)


def test_a_session_round_trips_and_expires_on_the_service_clock(redis_client: redis.Redis) -> None:
    clock = MovableClock()
    sessions = store(redis_client, clock)
    session_id, session = sessions.start(ALICE)
    loaded = sessions.load(session_id)
    assert loaded == session
    assert (loaded.principal, loaded.token_sha256) == ("alice@example.com", "a" * 64)
    assert len(session.csrf_token) >= 43 and session.csrf_token != session_id
    assert 0 < redis_client.ttl(session.key) <= 8 * 3600

    other_id, other = sessions.start(ALICE)
    assert other_id != session_id and other.csrf_token != session.csrf_token

    clock.advance(8 * 3600)
    assert sessions.load(session_id) is None
    assert not redis_client.exists(session.key)  # an expired session is removed when met


def test_unknown_or_malformed_ids_load_nothing(redis_client: redis.Redis) -> None:
    sessions = store(redis_client, MovableClock())
    for session_id in (None, "", "nope", "x" * 129, "ünïcode", "a;b=c"):
        assert sessions.load(session_id) is None
    # A hash missing a field (damaged, or left by something else) is not a session.
    session_id, session = sessions.start(ALICE)
    redis_client.hdel(session.key, "csrf")
    assert sessions.load(session_id) is None


def test_flash_messages_are_shown_once(redis_client: redis.Redis) -> None:
    sessions = store(redis_client, MovableClock())
    _, session = sessions.start(ALICE)
    assert sessions.take_flash(session) is None
    sessions.flash(session, "ok", "Approved.")
    taken = sessions.take_flash(session)
    assert taken is not None and (taken.level, taken.text) == ("ok", "Approved.")
    assert sessions.take_flash(session) is None


def test_the_confirm_token_is_kept_per_draft_until_dropped(redis_client: redis.Redis) -> None:
    clock = MovableClock()
    sessions = store(redis_client, clock)
    _, session = sessions.start(ALICE)
    pending = PendingConfirm(token="tok-1", confirm_before=clock.now() + timedelta(seconds=120))
    sessions.keep_confirm(session, "drf_A", pending)
    assert sessions.pending_confirm(session, "drf_A") == pending
    assert sessions.pending_confirm(session, "drf_B") is None
    sessions.drop_confirm(session, "drf_A")
    assert sessions.pending_confirm(session, "drf_A") is None


def test_a_write_after_sign_out_does_not_bring_the_session_back(redis_client: redis.Redis) -> None:
    sessions = store(redis_client, MovableClock())
    session_id, session = sessions.start(ALICE)
    sessions.end(session)
    sessions.flash(session, "ok", "late")
    sessions.keep_confirm(session, "drf_A", PendingConfirm("t", session.expires_at))
    assert not redis_client.exists(session.key)
    assert sessions.load(session_id) is None
