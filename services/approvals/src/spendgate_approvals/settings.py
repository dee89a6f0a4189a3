"""Settings of the approval service, read once by its entrypoint (SPEC §2 shared variables)."""

from __future__ import annotations

from spendgate_core.settings import ReaderSettings


class ApprovalsSettings(ReaderSettings):
    """The shared settings plus the platform read token (rollbacks read the live value).

    Slack and webhook secrets join here with issue 4; nothing secret beyond the read token yet.
    """
