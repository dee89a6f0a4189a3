"""Bearer tokens: the read token may read, the write token may read and write."""

from __future__ import annotations

import hmac

from spendgate_adsim.errors import Forbidden, Unauthorized


class Tokens:
    """Checks an `Authorization` header against the two configured tokens in constant time."""

    def __init__(self, *, read_token: str, write_token: str) -> None:
        if not read_token or not write_token:
            raise ValueError("both the read and the write token must be non-empty")
        self._read = read_token.encode()
        self._write = write_token.encode()

    def authorize(self, authorization: str | None, *, write: bool) -> None:
        """Return if the caller may read (or write); raise `Unauthorized` or `Forbidden` otherwise."""
        scheme, _, credential = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise Unauthorized("Missing bearer token: send Authorization: Bearer <token>.")
        token = credential.strip().encode()
        is_write = hmac.compare_digest(token, self._write)
        is_read = hmac.compare_digest(token, self._read)
        if not (is_write or is_read):
            raise Unauthorized("Unknown bearer token.")
        if write and not is_write:
            raise Forbidden("This token may only read; changes need the write token.")
