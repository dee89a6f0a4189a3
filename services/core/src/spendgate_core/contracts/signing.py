"""The ledger's Ed25519 key: create the key file, load it, sign entries and checkpoints, verify them.

The private key lives in one PEM (PKCS8) file named by `SPENDGATE_LEDGER_KEY_FILE`. Whoever holds it can
write a ledger that verifies, so it is created owner-only (0600) and never overwritten: replacing the key
would make every earlier entry fail verification.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class LedgerKeyError(ValueError):
    """The ledger key file is missing, unreadable or not an Ed25519 private key.

    A ValueError so that configuration code can turn it into its one clear startup line.
    """


class LedgerVerifier:
    """An Ed25519 public key that checks ledger signatures."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key

    @classmethod
    def from_pem(cls, pem: str) -> LedgerVerifier:
        """A verifier from a SubjectPublicKeyInfo PEM, as printed by `LedgerSigner.public_key_pem`."""
        try:
            key = serialization.load_pem_public_key(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
            raise LedgerKeyError(f"not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise LedgerKeyError(f"the ledger needs an Ed25519 public key, not {type(key).__name__}")
        return cls(key)

    def verify(self, data: bytes, sig_b64: str) -> bool:
        """True when `sig_b64` is a valid base64 Ed25519 signature of `data`; False for anything else.

        Never raises on a malformed signature: the auditor feeds it whatever storage holds.
        """
        try:
            signature = base64.b64decode(sig_b64, validate=True)
            self._key.verify(signature, data)
        except (InvalidSignature, binascii.Error, ValueError, TypeError):
            return False
        # Base64 ignores the spare bits of its last character, so several strings decode to the same
        # signature; accept only the one encoding `sign` produces, so no stored byte can change unseen.
        return base64.b64encode(signature).decode("ascii") == sig_b64


class LedgerSigner:
    """An Ed25519 private key that signs ledger entries and checkpoints."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._public = LedgerVerifier(key.public_key())

    def sign(self, data: bytes) -> str:
        """The Ed25519 signature of `data`, standard base64."""
        return base64.b64encode(self._key.sign(data)).decode("ascii")

    def public_key(self) -> LedgerVerifier:
        return self._public

    def public_key_pem(self) -> str:
        """The public half as SubjectPublicKeyInfo PEM, safe to publish to auditors."""
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )


def generate_key_file(path: Path) -> None:
    """Write a fresh Ed25519 private key to `path` (PEM, PKCS8, mode 0600).

    Raises FileExistsError when `path` exists: overwriting a ledger key would orphan the whole ledger.
    """
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        # O_EXCL makes "refuse to overwrite" atomic: no window between an exists() check and the write.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise FileExistsError(f"ledger key file {path} already exists; refusing to overwrite it") from None
    with os.fdopen(fd, "wb") as handle:
        # The mode given to os.open is filtered by the umask; set it exactly.
        os.fchmod(handle.fileno(), 0o600)
        handle.write(pem)


def load_signing_key(path: Path) -> LedgerSigner:
    """The signer for the Ed25519 private key in `path`; LedgerKeyError with a clear message otherwise."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise LedgerKeyError(
            f"ledger key file {path} does not exist "
            "(create one with spendgate_core.contracts.signing.generate_key_file)"
        ) from None
    except OSError as exc:
        raise LedgerKeyError(f"ledger key file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise LedgerKeyError(f"ledger key file {path} is encrypted; it must be an unencrypted PEM") from None
    except (ValueError, UnsupportedAlgorithm):
        raise LedgerKeyError(f"ledger key file {path} is not a PEM (PKCS8) Ed25519 private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerKeyError(
            f"ledger key file {path} holds a {type(key).__name__}; the ledger needs an Ed25519 private key"
        )
    return LedgerSigner(key)
