"""The ledger key: file creation (0600, never overwritten), loading errors, signing and verifying."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from spendgate_core.contracts.signing import (
    LedgerKeyError,
    LedgerSigner,
    LedgerVerifier,
    generate_key_file,
    load_signing_key,
)

# Module-level for the hypothesis tests, which must not use function-scoped fixtures.
_SIGNER = LedgerSigner(Ed25519PrivateKey.generate())


@pytest.fixture
def signer() -> LedgerSigner:
    return LedgerSigner(Ed25519PrivateKey.generate())


def test_generated_key_file_is_owner_only_pkcs8_pem(tmp_path: Path) -> None:
    path = tmp_path / "ledger.pem"
    generate_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS8, unencrypted
    signer = load_signing_key(path)
    assert signer.public_key().verify(b"x", signer.sign(b"x"))


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "ledger.pem"
    generate_key_file(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        generate_key_file(path)
    assert path.read_bytes() == before


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LedgerKeyError, match="does not exist"):
        load_signing_key(tmp_path / "nope.pem")


def test_load_directory(tmp_path: Path) -> None:
    with pytest.raises(LedgerKeyError, match="cannot be read"):
        load_signing_key(tmp_path)


@pytest.mark.parametrize(
    "content", [b"", b"hello", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"]
)
def test_load_malformed(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    with pytest.raises(LedgerKeyError, match="not a PEM"):
        load_signing_key(path)


def test_load_wrong_key_type(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(LedgerKeyError, match="needs an Ed25519"):
        load_signing_key(path)


def test_load_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "enc.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(LedgerKeyError, match="encrypted"):
        load_signing_key(path)


def test_key_errors_are_value_errors() -> None:
    assert issubclass(LedgerKeyError, ValueError)


def test_sign_verify_round_trip(signer: LedgerSigner) -> None:
    sig = signer.sign(b"payload")
    assert len(base64.b64decode(sig, validate=True)) == 64
    verifier = signer.public_key()
    assert verifier.verify(b"payload", sig)
    assert not verifier.verify(b"payload!", sig)
    other = LedgerSigner(Ed25519PrivateKey.generate())
    assert not other.public_key().verify(b"payload", sig)


def test_only_the_canonical_base64_of_a_signature_verifies(signer: LedgerSigner) -> None:
    sig = signer.sign(b"payload")
    assert sig.endswith("==")  # 64 bytes: the last data character carries 2 bits and 4 spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(sig[-3])
    twins = [alphabet[i] for i in range(64) if i >> 4 == last >> 4 and i != last]
    assert len(twins) == 15
    for twin in twins:
        malleated = sig[:-3] + twin + "=="
        assert base64.b64decode(malleated) == base64.b64decode(sig)
        assert signer.public_key().verify(b"payload", malleated) is False
    assert signer.public_key().verify(b"payload", sig)


def test_public_pem_round_trip(signer: LedgerSigner) -> None:
    pem = signer.public_key_pem()
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert LedgerVerifier.from_pem(pem).verify(b"abc", signer.sign(b"abc"))
    with pytest.raises(LedgerKeyError):
        LedgerVerifier.from_pem("garbage")


@pytest.mark.parametrize(
    "garbage",
    ["", "=", "!!!!", "not base64 at all", "AAAA", base64.b64encode(b"\0" * 64).decode(), "é", "A" * 10_000],
)
def test_verifier_rejects_garbage_without_raising(signer: LedgerSigner, garbage: str) -> None:
    assert signer.public_key().verify(b"payload", garbage) is False


@given(st.text(max_size=200))
def test_verifier_never_raises_on_any_text(garbage: str) -> None:
    verifier = _SIGNER.public_key()
    assert verifier.verify(b"payload", garbage) is False


@given(st.binary(min_size=64, max_size=64))
def test_verifier_rejects_random_signatures(raw: bytes) -> None:
    assert _SIGNER.public_key().verify(b"payload", base64.b64encode(raw).decode()) is False
