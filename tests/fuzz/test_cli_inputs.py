"""`spendgate drafts show/approve/reject` as subprocesses, with unknown and malformed ids, unusable or wrong
--urls and bad tokens: exit 1 (refused) or 2 (usage/config) with one line on stderr, never a traceback,
and nothing decided.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from tests.support.servers import serve_in_thread
from tests.support.stack import World

from .conftest import FUZZ, FUZZ_EXAMPLES, Drafts


def spendgate(*args: str, token: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("spendgate") or str(Path(sys.executable).parent / "spendgate")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDGATE_")}
    return subprocess.run(
        [binary, *args],
        env={**env, "SPENDGATE_TOKEN": token},
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], *, click_usage: bool = False) -> None:
    what = (result.args[1:], result.returncode, result.stdout[-500:], result.stderr[-2000:])
    assert result.returncode in (1, 2), what
    assert "Traceback" not in result.stdout + result.stderr, what
    lines = result.stderr.strip().splitlines()
    if click_usage and lines and lines[-1].startswith("Error: "):
        return  # click's own usage error (an id that looks like an option): Usage, Try, Error lines
    assert len(lines) == 1 and lines[0].startswith("spendgate: "), what


@pytest.fixture
def strangers() -> Iterator[dict[str, str]]:
    """Servers that answer, but are not the approval API: an HTML page, and JSON of another shape."""

    async def html(_: Request) -> HTMLResponse:
        return HTMLResponse("<html><body>Welcome to the captive portal</body></html>")

    async def other_json(_: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "drafts": "none here"})

    routes = [
        Route("/html/{path:path}", html, methods=["GET", "POST"]),
        Route("/json/{path:path}", other_json, methods=["GET", "POST"]),
    ]
    with serve_in_thread(Starlette(routes=routes)) as url:
        yield {"html": f"{url}/html", "json": f"{url}/json"}


COMMANDS = ["show", "approve", "reject"]


def command(name: str, draft_id: str, url: str) -> list[str]:
    extra = {"show": [], "approve": ["--yes"], "reject": ["--reason", "fuzz"]}[name]
    return ["drafts", name, *extra, "--url", url, "--", draft_id]


BAD_IDS = [
    "drf_" + "0" * 26,  # well-formed, unknown
    "x",
    "../audit",
    "../../healthz",
    "?limit=1",
    "#frag",
    "",
    " ",
    "drf_é",
    "x" * 5000,
    "\n",
    "%2e%2e",
    "..",
    ".",
]
BAD_URLS = [
    "http://127.0.0.1:1",
    "http://[::1",
    "http://127.0.0.1:99999",
    "not a url",
    "ftp://x",
    "http://",
    "",
]
BAD_TOKENS = ["wrong", "tökén", "a\nb", "a b", "x" * 10_000]


def test_bad_ids_urls_and_tokens_fail_cleanly(
    approvals_url: str, fuzz_world: World, drafts: Drafts, strangers: dict[str, str]
) -> None:
    alice, pending = fuzz_world.tokens.alice, drafts.pending
    cycle = itertools.cycle(COMMANDS)  # each case through one command, the three in turn
    runs = [(command(next(cycle), draft_id, approvals_url), alice) for draft_id in BAD_IDS]
    runs += [(command(next(cycle), pending, url), alice) for url in BAD_URLS]
    # Answers that are not the approval API's: nothing may be reported as done.
    runs += [(command(name, pending, strangers[kind]), alice) for kind in strangers for name in COMMANDS]
    tokens = [*BAD_TOKENS, fuzz_world.tokens.agent, fuzz_world.tokens.viewer]
    runs += [
        (command(name, pending, approvals_url), token) for token in tokens for name in ("approve", "reject")
    ]
    # Subprocesses are slow to start and independent: run them side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda run: spendgate(*run[0], token=run[1]), runs))
    for result in results:
        assert_clean_failure(result)
    assert_undecided(approvals_url, alice, drafts)


@settings(FUZZ, max_examples=min(FUZZ_EXAMPLES, 12))  # a subprocess per example
@given(
    name=st.sampled_from(COMMANDS), draft_id=st.text(st.characters(exclude_characters="\x00"), max_size=40)
)
def test_any_draft_id_fails_cleanly(
    name: str, draft_id: str, approvals_url: str, fuzz_world: World, drafts: Drafts
) -> None:
    result = spendgate(*command(name, draft_id, approvals_url), token=fuzz_world.tokens.alice)
    assert_clean_failure(result, click_usage=True)


def assert_undecided(url: str, token: str, drafts: Drafts) -> None:
    for draft_id in (drafts.pending, drafts.other):
        draft = httpx.get(f"{url}/v1/drafts/{draft_id}", headers={"Authorization": f"Bearer {token}"}).json()
        assert (draft["status"], draft["approvals"]) == ("pending", []), draft
