"""The server's VAPID key pair (RFC 8292): given by the settings, else generated on first use
and kept in the data dir, so every process and restart signs with the same key and the
browsers' subscriptions (made against its public key) stay valid."""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

KEY_FILE = "vapid_private_key.pem"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class VapidKeys:
    private_pem: str

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the VAPID key must be an EC P-256 private key")
        return key

    @property
    def public_key_b64(self) -> str:
        """The application server key as browsers take it (uncompressed point, base64url)."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return b64url(point)

    @property
    def private_key_b64(self) -> str:
        """The raw private scalar, base64url: what pywebpush takes."""
        number = self.private_key.private_numbers().private_value
        return b64url(number.to_bytes(32, "big"))


def _new_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def load_or_create(data_dir: Path, configured_pem: str | None = None) -> VapidKeys:
    """The key pair: the configured PEM, else the data dir's file, created once (an exclusive
    create, so two processes starting together agree on one key)."""
    if configured_pem:
        keys = VapidKeys(configured_pem.replace("\\n", "\n"))
        keys.private_key  # noqa: B018  (refuse a malformed key at start, not at first push)
        return keys
    return _from_file(data_dir.resolve() / KEY_FILE)


@lru_cache(maxsize=8)
def _from_file(path: Path) -> VapidKeys:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(_new_pem())
    for _ in range(50):  # the creator may still be writing
        text = path.read_text()
        if "END PRIVATE KEY" in text:
            return VapidKeys(text)
        time.sleep(0.02)
    raise RuntimeError(f"{path}: not a PEM private key; delete it to have a new key made")
