"""Approvers' Ed25519 keys and the list of trusted approvers, both kept outside the database.

A private key is a PEM (PKCS #8) file readable by its owner only, found at ``--key``,
``$LIVEEXEC_SIGNING_KEY`` or ``~/.config/liveexec/approver.pem`` (encrypted when
``$LIVEEXEC_SIGNING_KEY_PASSPHRASE`` is set). The trusted approvers file, at
``$LIVEEXEC_TRUSTED_APPROVERS`` or ``~/.config/liveexec/trusted_approvers``, has one line per
key, as OpenSSH's allowed-signers file does::

    # name  algorithm  public key (base64 of its 32 bytes)
    alice   ed25519    9hYB0n0J8H4m6oQe5aYpLr7B1lVYVq8h2x0K3xg1c4Q=

Whoever can write to the database cannot write these files: that is what makes a signature
the approver's word, not the database's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from platformdirs import user_config_dir

from liveexec.db import chain_signed_message as signed_message
from liveexec.errors import ConfigError, ConfigIssue

__all__ = [
    "PASSPHRASE_ENV",
    "SIGNING_KEY_ENV",
    "TRUSTED_APPROVERS_ENV",
    "Signer",
    "TrustedApprovers",
    "default_key_path",
    "fingerprint",
    "generate_key",
    "load_signer",
    "read_trusted_approvers",
    "trusted_approvers_path",
    "verify_signature",
]

SIGNING_KEY_ENV = "LIVEEXEC_SIGNING_KEY"
PASSPHRASE_ENV = "LIVEEXEC_SIGNING_KEY_PASSPHRASE"  # noqa: S105 (the variable's name)
TRUSTED_APPROVERS_ENV = "LIVEEXEC_TRUSTED_APPROVERS"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
_MAX_FILE_BYTES = 1 << 20


def _config_dir() -> Path:
    """The user config directory (``$XDG_CONFIG_HOME/liveexec``, else ``~/.config/liveexec``)."""
    return Path(user_config_dir("liveexec"))


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$LIVEEXEC_SIGNING_KEY``, else ``approver.pem`` in the user config directory."""
    env = os.environ if environ is None else environ
    configured = env.get(SIGNING_KEY_ENV)
    return Path(configured).expanduser() if configured else _config_dir() / "approver.pem"


def trusted_approvers_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$LIVEEXEC_TRUSTED_APPROVERS``, else ``trusted_approvers`` in the user config directory."""
    env = os.environ if environ is None else environ
    configured = env.get(TRUSTED_APPROVERS_ENV)
    return Path(configured).expanduser() if configured else _config_dir() / "trusted_approvers"


def _public_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def fingerprint(public_b64: str) -> str:
    """``SHA256:...`` of the raw public key, as OpenSSH prints one."""
    digest = hashlib.sha256(base64.b64decode(public_b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _passphrase(environ: Mapping[str, str]) -> bytes | None:
    value = environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


@dataclass(frozen=True)
class Signer:
    """An approver's private key, loaded to sign decisions."""

    path: Path
    _key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        return _public_b64(self._key.public_key())

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def sign(self, row_hash: str) -> str:
        return base64.b64encode(self._key.sign(signed_message(row_hash))).decode()

    def __repr__(self) -> str:  # never the key itself
        return f"Signer(path={str(self.path)!r}, fingerprint={self.fingerprint!r})"


def _key_issue(path: Path, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError("approver key", [ConfigIssue(str(path), message, hint)])


def _check_private(path: Path) -> None:
    """Refuse a key file that is not a regular file or that others can read (as ssh does)."""
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        raise _key_issue(path, "is not a regular file")
    if info.st_mode & 0o077:
        raise _key_issue(
            path,
            f"permissions {stat.S_IMODE(info.st_mode):04o} are too open: the private key "
            "must be readable by its owner only",
            f"chmod 600 {path}",
        )


def generate_key(path: Path, *, environ: Mapping[str, str] | None = None) -> Signer:
    """A new Ed25519 key written to ``path`` (mode 0600, encrypted with
    ``$LIVEEXEC_SIGNING_KEY_PASSPHRASE`` when set). An existing file is never overwritten."""
    env = os.environ if environ is None else environ
    if path.exists() or path.is_symlink():
        raise _key_issue(path, "exists already", "choose another --out, or keep using that key")
    key = Ed25519PrivateKey.generate()
    passphrase = _passphrase(env)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return Signer(path, key)


def load_signer(
    key: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Signer | None:
    """The key at ``key``, else ``$LIVEEXEC_SIGNING_KEY``, else the default path; None when no
    key was named and the default file does not exist (the decision is recorded unsigned)."""
    env = os.environ if environ is None else environ
    named = key is not None or bool(env.get(SIGNING_KEY_ENV))
    path = Path(key).expanduser() if key is not None else default_key_path(env)
    if not path.exists():
        if named:
            raise _key_issue(path, "no such key file", "create one with `liveexec keys generate`")
        return None
    _check_private(path)
    data = path.read_bytes()[:_MAX_FILE_BYTES]
    try:
        loaded = serialization.load_pem_private_key(data, password=_passphrase(env))
    except TypeError:
        raise _key_issue(
            path,
            "is encrypted and no passphrase was given",
            f"set ${PASSPHRASE_ENV}",
        ) from None
    except ValueError as exc:
        reason = str(exc).split("\n", 1)[0]
        raise _key_issue(
            path, f"is not a readable private key ({reason})", f"check ${PASSPHRASE_ENV}"
        ) from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise _key_issue(path, f"is a {type(loaded).__name__}, not an Ed25519 key")
    return Signer(path, loaded)


@dataclass(frozen=True)
class TrustedApprovers:
    """Who may approve: name -> public keys (base64), read from ``path``."""

    path: Path
    keys: dict[str, frozenset[str]]

    def names_of(self, public_key: str) -> list[str]:
        return sorted(name for name, keys in self.keys.items() if public_key in keys)

    def trusts(self, name: str, public_key: str) -> bool:
        return public_key in self.keys.get(name, frozenset())


def _parse_public_key(text: str) -> str | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return text if len(raw) == 32 else None


def read_trusted_approvers(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> TrustedApprovers:
    """The trusted approvers file: a missing file trusts nobody; a file others may write, or a
    malformed line, is refused naming the file and line."""
    file = path if path is not None else trusted_approvers_path(environ)
    if not file.exists():
        return TrustedApprovers(file, {})
    info = file.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError("trusted approvers", [ConfigIssue(str(file), "is not a regular file")])
    if info.st_mode & 0o022:
        raise ConfigError(
            "trusted approvers",
            [
                ConfigIssue(
                    str(file),
                    f"permissions {stat.S_IMODE(info.st_mode):04o}: others may write it, so "
                    "it cannot say who is trusted",
                    f"chmod go-w {file}",
                )
            ],
        )
    issues: list[ConfigIssue] = []
    keys: dict[str, set[str]] = {}
    text = file.read_bytes()[:_MAX_FILE_BYTES].decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        where = f"{file}:{number}"
        if len(words) != 3 or words[1] != "ed25519":
            issues.append(ConfigIssue(where, "expected `NAME ed25519 PUBLIC_KEY`"))
            continue
        name, _algorithm, public = words
        if not NAME_PATTERN.fullmatch(name):
            issues.append(ConfigIssue(where, f"approver name {name!r} is not valid"))
        elif _parse_public_key(public) is None:
            issues.append(ConfigIssue(where, "the public key is not base64 of 32 bytes"))
        else:
            keys.setdefault(name, set()).add(public)
    if issues:
        raise ConfigError("trusted approvers", issues)
    return TrustedApprovers(file, {name: frozenset(found) for name, found in keys.items()})


def verify_signature(public_key: str, signature: str, row_hash: str) -> bool:
    """Whether ``signature`` (base64) is ``public_key``'s over ``row_hash``."""
    try:
        raw_key = base64.b64decode(public_key, validate=True)
        raw_signature = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(raw_key).verify(raw_signature, signed_message(row_hash))
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
