"""The workstation's export key: an Ed25519 key made once and kept, that signs every package's tag
manifest. Its public half and fingerprint travel in the package and are recorded in the archive.

The private key lives in the OS keyring (SecretStore.export_key). Without a keyring it is kept in
``<data_dir>/export-key.pem`` with 0600 permissions.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.config.secrets import SecretStore, keyring_available

KEY_FILE_NAME = "export-key.pem"
IN_KEYRING, IN_FILE = "keyring", "file"


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """sha256 of the raw 32-byte public key, hex."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class ExportKey:
    private_key: Ed25519PrivateKey
    where: str  # IN_KEYRING or IN_FILE

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.public_key)

    @property
    def public_pem(self) -> bytes:
        return public_pem(self.public_key)

    def sign_b64(self, data: bytes) -> bytes:
        """The detached signature of ``data``, base64 with a final newline."""
        return base64.b64encode(self.private_key.sign(data)) + b"\n"


def _pem_of(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load(pem: bytes | str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii") if isinstance(pem, str) else pem, None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the stored export key is not an Ed25519 key")
    return key


def load_or_create_export_key(secrets: SecretStore, data_dir: str | os.PathLike[str]) -> ExportKey:
    """This workstation's export key: from the keyring, else from the 0600 file in ``data_dir``;
    made (once) and kept in the keyring when there is one, else in that file."""
    path = Path(data_dir) / KEY_FILE_NAME
    pem = secrets.export_key()
    if pem:
        return ExportKey(_load(pem), IN_KEYRING)
    if path.is_file():
        return ExportKey(_load(path.read_bytes()), IN_FILE)
    key = Ed25519PrivateKey.generate()
    if keyring_available():
        secrets.set_export_key(_pem_of(key).decode("ascii"))
        return ExportKey(key, IN_KEYRING)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(_pem_of(key))
    return ExportKey(key, IN_FILE)


def verify_signature(public_pem_bytes: bytes, data: bytes, signature_b64: bytes) -> tuple[str | None, str | None]:
    """(fingerprint of the public key or None, problem or None)."""
    try:
        pub = serialization.load_pem_public_key(public_pem_bytes)
    except (ValueError, TypeError) as exc:
        return None, f"bad public key: export-public-key.pem cannot be read ({exc})"
    if not isinstance(pub, Ed25519PublicKey):
        return None, "bad public key: export-public-key.pem is not an Ed25519 key"
    fp = key_fingerprint(pub)
    try:
        sig = base64.b64decode(signature_b64.strip(), validate=True)
        pub.verify(sig, data)
    except (ValueError, InvalidSignature):
        return fp, "bad signature: signature-ed25519.sig does not verify tagmanifest-sha256.txt " \
                   "with export-public-key.pem"
    return fp, None
