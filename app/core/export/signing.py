"""The workstation's export key: an Ed25519 key made once and kept, that signs every package's tag
manifest. Its public half and fingerprint travel in the package and are recorded in the archive.

Where the private key lives — never in a plaintext file:

* in the OS keyring (``SecretStore.export_key``) whenever this computer has one;
* otherwise in ``<data_dir>/export-key.enc`` (0600), encrypted under a passphrase the user holds:
  scrypt (N=2**17, r=8, p=1) derives a 256-bit key from it, AES-256-GCM encrypts the raw private
  key, and the file's header (format, KDF parameters, salt, nonce, public key fingerprint) is the
  associated data, so a changed header fails like a wrong passphrase.

The passphrase is asked for when an export needs to sign: ``WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE``
supplies it (headless use), else what a caller gives for the current thread with ``with
export_key_passphrase(value_or_provider): ...`` (the CLI's prompt, the export dialog); without
either, :class:`ExportKeyPassphraseNeeded` says so. A wrong one raises :class:`WrongExportKeyPassphrase`.

An earlier version kept the key in plaintext in ``<data_dir>/export-key.pem``. That file is moved
into the keyring (or, without one, into the encrypted file once a passphrase is given) and then
overwritten with random bytes and deleted (:func:`migrate_plaintext_export_key`; it runs at every
start and before every signature). Overwriting cannot reach copies the file system or a backup made
elsewhere (SSD remapping, copy-on-write file systems, snapshots).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from app.core.config.secrets import SecretMissingError, SecretStore, keyring_available
from app.core.errors import SaidInTwoLanguages
from app.core.files import write_atomic

log = logging.getLogger(__name__)

KEY_FILE_NAME = "export-key.pem"  # an earlier version's plaintext key: migrated, then removed
ENCRYPTED_KEY_FILE_NAME = "export-key.enc"
PASSPHRASE_ENV = "WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE"
MIN_PASSPHRASE_LENGTH = 10
IN_KEYRING, IN_FILE = "keyring", "file"  # ExportKey.where; IN_FILE = the encrypted file

_FORMAT = "wecom-auditor export key"
_KDF_N, _KDF_R, _KDF_P = 2**17, 8, 1
# A file asking for more than this is refused before deriving: a crafted file must not make an
# export allocate gigabytes.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16

# What a caller gives for the current thread: the passphrase, or a function asked with ``new``
# (True: the user is choosing a passphrase for a new or migrated key, so confirm it) that returns
# the passphrase or None (the user declined).
PassphraseProvider = Callable[[bool], "str | None"]
_PROVIDER: ContextVar[str | PassphraseProvider | None] = ContextVar("export_key_passphrase", default=None)


class ExportKeyError(SaidInTwoLanguages, SecretMissingError):
    """The export key cannot be used; the message is one sentence saying why and what to do (in
    English and Chinese)."""


class ExportKeyPassphraseNeeded(ExportKeyError):
    """The key is (or is to be) kept encrypted and no passphrase was given."""


class WrongExportKeyPassphrase(ExportKeyError):
    """The passphrase does not open the encrypted export key (or the file was changed)."""


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

    def __repr__(self) -> str:  # never print the private key by accident
        return f"ExportKey(where={self.where!r}, fingerprint={self.fingerprint!r})"

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


# ------------------------------------------------------------------ the passphrase

@contextlib.contextmanager
def export_key_passphrase(source: str | PassphraseProvider | None) -> Iterator[None]:
    """Within the block, in this thread only, the export key's passphrase comes from ``source``: the
    passphrase itself, or a function ``(new: bool) -> str | None`` called only when one is needed
    (``new``: the user is choosing one, e.g. for a key about to be created). None = no change."""
    if source is None:
        yield
        return
    token = _PROVIDER.set(source)
    try:
        yield
    finally:
        _PROVIDER.reset(token)


def check_new_passphrase(passphrase: str) -> None:
    """Raise ExportKeyError unless ``passphrase`` may protect the export key (at least 10 characters,
    not one character repeated)."""
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise ExportKeyError(f"the export key's passphrase must have at least {MIN_PASSPHRASE_LENGTH} characters",
                             f"导出密钥的口令至少需要 {MIN_PASSPHRASE_LENGTH} 个字符")
    if len(set(passphrase)) <= 1:
        raise ExportKeyError("the export key's passphrase must not be one character repeated",
                             "导出密钥的口令不能是同一个字符的重复")


def _passphrase(new: bool) -> str:
    value = os.environ.get(PASSPHRASE_ENV) or None
    source = _PROVIDER.get()
    if value is None and source is not None:
        value = source(new) if callable(source) else source
    if value is None:
        what = ("keep the export signing key encrypted (this computer has no OS keyring)" if new
                else "unlock the export signing key")
        what_zh = "加密保存导出签名密钥（本机没有系统密钥环）" if new else "解锁导出签名密钥"
        raise ExportKeyPassphraseNeeded(f"a passphrase is needed to {what}: enter it when asked, or set "
                                        f"{PASSPHRASE_ENV} for headless use",
                                        f"需要口令才能{what_zh}：请在提示时输入，无界面运行时可设置 {PASSPHRASE_ENV}")
    if new:
        check_new_passphrase(value)
    return value


def passphrase_needed(secrets: SecretStore, data_dir: str | os.PathLike[str]) -> str | None:
    """What signing an export will ask for, so that a window can ask before it starts: None (the
    key is in the keyring or will be, or WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE supplies it),
    ``"unlock"`` (the key is in the encrypted file) or ``"new"`` (a key is to be created or migrated
    without a keyring: the user chooses a passphrase)."""
    if os.environ.get(PASSPHRASE_ENV) or secrets.export_key():
        return None
    folder = Path(data_dir)
    if (folder / ENCRYPTED_KEY_FILE_NAME).is_file():
        return "unlock"
    return None if keyring_available() else "new"


# ------------------------------------------------------------------ the encrypted file

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def _pem_of(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_pem(pem: bytes | str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii") if isinstance(pem, str) else pem, None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the stored export key is not an Ed25519 key")
    return key


def _aad(header: dict) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8", "surrogatepass"))


def encrypt_private_key(key: Ed25519PrivateKey, passphrase: str, *, n: int = _KDF_N, r: int = _KDF_R,
                        p: int = _KDF_P) -> bytes:
    """The encrypted-file bytes (JSON) holding ``key`` under ``passphrase``."""
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {"format": _FORMAT, "version": 1,
              "kdf": {"name": "scrypt", "n": n, "r": r, "p": p, "salt": _b64(salt)},
              "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
              "public_key_sha256": key_fingerprint(key.public_key())}
    sealed = AESGCM(_derive(passphrase, salt, n, r, p)).encrypt(nonce, _raw(key), _aad(header))
    return (json.dumps({**header, "ciphertext": _b64(sealed)}, indent=1) + "\n").encode("utf-8")


def decrypt_private_key(data: bytes, passphrase: str, *, source: str = ENCRYPTED_KEY_FILE_NAME) -> Ed25519PrivateKey:
    """The key in encrypted-file bytes; WrongExportKeyPassphrase for a wrong passphrase or a changed
    file, ExportKeyError for a file that is not one."""
    try:
        doc = json.loads(data.decode("utf-8"))
        sealed = base64.b64decode(doc.pop("ciphertext"), validate=True)
        kdf, cipher = doc["kdf"], doc["cipher"]
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(cipher["nonce"], validate=True)
        ok = (doc.get("format") == _FORMAT and doc.get("version") == 1 and kdf.get("name") == "scrypt"
              and cipher.get("name") == "AES-256-GCM" and 2 <= n <= _MAX_N and not n & (n - 1)
              and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P and len(salt) >= 16 and len(nonce) == 12)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise ExportKeyError(f"{source} is not an encrypted export key of this app: restore it from a backup, "
                             f"or move it away to make a new export key",
                             f"{source} 不是本应用的加密导出密钥：请从备份恢复，或将其移走以生成新的导出密钥")
    try:
        raw = AESGCM(_derive(passphrase, salt, n, r, p)).decrypt(nonce, sealed, _aad(doc))
        key = Ed25519PrivateKey.from_private_bytes(raw)
    except (InvalidTag, ValueError):
        raise WrongExportKeyPassphrase("the passphrase does not unlock the export signing key (or its file "
                                       f"{source} was changed): try again",
                                       f"口令无法解锁导出签名密钥（或其文件 {source} 被改动过）：请重试") from None
    if key_fingerprint(key.public_key()) != doc.get("public_key_sha256"):
        raise WrongExportKeyPassphrase(f"the export signing key in {source} does not match its recorded "
                                       f"fingerprint: restore it from a backup",
                                       f"{source} 中的导出签名密钥与记录的指纹不符：请从备份恢复")
    return key


def shred(path: Path) -> None:
    """Overwrite the file with random bytes (flushed to disk), then delete it. As far as practical:
    copies the file system keeps elsewhere (journals, snapshots, SSD remapping) are out of reach."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.write(os.urandom(max(size, 1)))
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        log.warning("could not overwrite %s before deleting it: %s", path, exc)
    path.unlink(missing_ok=True)


# ------------------------------------------------------------------ keeping the key

def _keep(key: Ed25519PrivateKey, secrets: SecretStore, folder: Path) -> str:
    """Store ``key`` in the keyring (checked by reading it back), else encrypted under a new passphrase."""
    if keyring_available():
        pem = _pem_of(key).decode("ascii")
        secrets.set_export_key(pem)
        if secrets.export_key() == pem:
            return IN_KEYRING
        log.warning("the keyring did not keep the export key; keeping it in the encrypted file instead")
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / ENCRYPTED_KEY_FILE_NAME, encrypt_private_key(key, _passphrase(new=True)))
    return IN_FILE


def migrate_plaintext_export_key(secrets: SecretStore, data_dir: str | os.PathLike[str], *,
                                 interactive: bool = True) -> str | None:
    """Move an earlier version's plaintext ``export-key.pem`` into the keyring (or, without one, into
    the encrypted file under a passphrase) and shred the plaintext. Returns where it went, or None if
    there was nothing to move or it has to wait for a passphrase (``interactive=False``: only the
    environment variable is asked; start-up uses that). A plaintext key that a keyring key differs
    from is kept in the keyring as a previous key, so nothing that signed a package is lost."""
    folder = Path(data_dir)
    plain = folder / KEY_FILE_NAME
    if not plain.is_file():
        return None
    try:
        key = _load_pem(plain.read_bytes())
    except ValueError as exc:
        raise ExportKeyError(f"{plain} (the export key of an earlier version) cannot be read ({exc}): move it "
                             f"away to make a new export key",
                             f"无法读取 {plain}（旧版本的导出密钥）（{exc}）：请将其移走以生成新的导出密钥") from None
    stored = secrets.export_key()
    if stored:
        if key_fingerprint(_load_pem(stored).public_key()) != key_fingerprint(key.public_key()):
            secrets.keep_previous_export_key(key_fingerprint(key.public_key()), _pem_of(key).decode("ascii"))
        where = IN_KEYRING
    elif keyring_available():
        where = _keep(key, secrets, folder)
    elif (folder / ENCRYPTED_KEY_FILE_NAME).is_file():  # one key per workstation: the user chooses
        raise ExportKeyError(f"both {plain} (plaintext, from an earlier version) and {ENCRYPTED_KEY_FILE_NAME} "
                             f"are in {folder}: move one of them away",
                             f"{folder} 中同时有 {plain}（旧版本的明文密钥）和 {ENCRYPTED_KEY_FILE_NAME}：请移走其中一个")
    elif not interactive and _PROVIDER.get() is None and not os.environ.get(PASSPHRASE_ENV):
        log.warning("the export key is still in plaintext in %s: it is encrypted at the next export, "
                    "under a passphrase asked for then", plain)
        return None
    else:
        where = _keep(key, secrets, folder)
    shred(plain)
    log.info("the plaintext export key of an earlier version was moved to the %s and its file deleted",
             "keyring" if where == IN_KEYRING else "encrypted file")
    return where


def load_or_create_export_key(secrets: SecretStore, data_dir: str | os.PathLike[str]) -> ExportKey:
    """This workstation's export key: from the keyring, else from the encrypted file in ``data_dir``
    (asking for its passphrase); an earlier version's plaintext file is migrated first; made (once)
    when there is none, and kept in the keyring, else encrypted under a new passphrase.

    Raises ExportKeyPassphraseNeeded / WrongExportKeyPassphrase / ExportKeyError (one sentence each;
    a SecretMissingError) when the key cannot be had."""
    folder = Path(data_dir)
    migrate_plaintext_export_key(secrets, folder)
    pem = secrets.export_key()
    if pem:
        return ExportKey(_load_pem(pem), IN_KEYRING)
    encrypted = folder / ENCRYPTED_KEY_FILE_NAME
    if encrypted.is_file():
        key = decrypt_private_key(encrypted.read_bytes(), _passphrase(new=False), source=str(encrypted))
        if keyring_available() and _keep(key, secrets, folder) == IN_KEYRING:
            encrypted.unlink()  # a keyring appeared since: the key lives there now
            return ExportKey(key, IN_KEYRING)
        return ExportKey(key, IN_FILE)
    key = Ed25519PrivateKey.generate()
    return ExportKey(key, _keep(key, secrets, folder))


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
