"""The credential vault: connection secrets encrypted at rest under a master key.

Each ciphertext is ``v1:<key id>:<Fernet token>``; the key id is a fingerprint of the master
key (never the key), so a wrong key is recognised and named instead of failing as "invalid
token". The key comes from ``KPIHUB_MASTER_KEY`` or the file ``KPIHUB_MASTER_KEY_FILE``.

Rotation writes the new key beside the old one (``<file>.new``) before touching the store,
re-encrypts every credential in one transaction, and only then replaces the key file. While
``<file>.new`` exists both keys decrypt, so an interruption at any point loses nothing; the
next time the vault opens it finishes or discards the half-done rotation.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, select, update

from sdk import ConfigError, CredentialError

from .settings import Settings
from .store import Store
from .store.tables import connections, vault_state

__all__ = ["Rotation", "Vault", "create_key_file", "current_key_id", "key_id", "open_vault", "rotate"]

_CREATE_HINT = "create one with `kpihub keys create` and set KPIHUB_MASTER_KEY_FILE to its path"
_PREFIX = "v1"


def key_id(key: bytes) -> str:
    """A public fingerprint of a master key: safe to store, log and show."""
    return hashlib.sha256(b"kpihub-master-key-id:" + key).hexdigest()[:16]


def _parse_key(text: str, origin: str) -> bytes:
    """Validate a master key's text and return it as Fernet wants it."""
    candidate = text.strip()
    try:
        raw = base64.urlsafe_b64decode(candidate.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(
            f"{origin} is not a valid master key (expected 44 characters of URL-safe base64 "
            f"encoding 32 random bytes); {_CREATE_HINT}"
        )
    if len(set(raw)) < 16:
        raise ConfigError(f"{origin} looks like a placeholder, not a random key; {_CREATE_HINT}")
    return candidate.encode("ascii")


def _read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ConfigError(f"the master key file {path} does not exist; {_CREATE_HINT}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the master key file {path}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"the master key file {path} can be read by other users; run `chmod 600 {path}`")
    return _parse_key(text, f"the master key file {path}")


class Vault:
    """Encrypts and decrypts credential dicts. ``keys`` maps key id to key; ``primary`` encrypts."""

    def __init__(self, primary: bytes, *others: bytes) -> None:
        self.primary_id = key_id(primary)
        self._fernets = {key_id(k): Fernet(k) for k in (primary, *others)}
        self.reopen: Callable[[], Vault] | None = None
        """Opens the vault again from the settings, to follow a rotation made meanwhile."""

    def __repr__(self) -> str:
        return f"Vault(primary={self.primary_id}, keys={sorted(self._fernets)})"

    def encrypt(self, values: dict[str, Any]) -> str:
        token = self._fernets[self.primary_id].encrypt(json.dumps(values, sort_keys=True).encode())
        return f"{_PREFIX}:{self.primary_id}:{token.decode('ascii')}"

    def decrypt(self, ciphertext: str, *, what: str = "credentials") -> dict[str, Any]:
        prefix, _, rest = ciphertext.partition(":")
        kid, _, token = rest.partition(":")
        if prefix != _PREFIX or not token:
            raise CredentialError(f"the stored {what} are not in a format this hub can read")
        fernet = self._fernets.get(kid)
        if fernet is None:
            raise CredentialError(
                f"the stored {what} were encrypted with master key {kid}, but the key in use is "
                f"{self.primary_id}; point KPIHUB_MASTER_KEY_FILE at the key this store was created with"
            )
        try:
            values: dict[str, Any] = json.loads(fernet.decrypt(token.encode("ascii")))
        except InvalidToken:
            raise CredentialError(f"the stored {what} are damaged and cannot be decrypted") from None
        return values


def _pending(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def _write_secret_file(path: Path, content: bytes) -> None:
    """Write a 0600 file atomically and durably."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _retired(path: Path) -> Path:
    return path.with_name(path.name + ".old")


@contextmanager
def _key_lock(path: Path) -> Iterator[None]:
    """Hold the key file's lock: one process at a time rotates or repairs the key files."""
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _install_pending(path: Path) -> Path:
    """Retire the key file to ``<file>.old`` and put the pending key in its place.

    Safe to repeat after a crash between the two renames: a key file already retired is not
    retired again.
    """
    retired = _retired(path)
    if path.exists():
        os.replace(path, retired)
    os.replace(_pending(path), path)
    return retired


def _settle_key_files(path: Path, store: Store) -> None:
    """Finish or abandon a rotation that stopped half-way. Call with the key lock held.

    The store says which key its credentials are under: if that is the pending key, the
    rotation committed and only the file renames are missing; otherwise it never committed,
    and as nobody else holds the lock, nobody is still working on it.
    """
    pending = _pending(path)
    if not pending.exists():
        return
    if _store_key_id(store) == key_id(_read_key_file(pending)):
        _install_pending(path)
    else:
        pending.unlink()


def create_key_file(path: Path, *, overwrite: bool = False) -> str:
    """Write a new random master key to ``path`` (mode 0600); return its key id."""
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists; refusing to overwrite a master key (rotate it instead)")
    if not path.parent.is_dir():
        raise ConfigError(f"the directory {path.parent} does not exist")
    key = Fernet.generate_key()
    _write_secret_file(path, key + b"\n")
    return key_id(key)


def _store_key_id(store: Store) -> str | None:
    with store.begin() as conn:
        return conn.execute(select(vault_state.c.key_id).where(vault_state.c.id == 1)).scalar_one_or_none()


def _set_store_key_id(conn: Connection, kid: str) -> None:
    now = dt.datetime.now(dt.UTC)
    changed = conn.execute(
        update(vault_state).where(vault_state.c.id == 1).values(key_id=kid, updated_at=now)
    )
    if changed.rowcount == 0:
        conn.execute(vault_state.insert().values(id=1, key_id=kid, updated_at=now))


def open_vault(settings: Settings, store: Store) -> Vault:
    """The vault for the configured master key, checked against the store it protects.

    Refuses to start with no key, a malformed or placeholder key, or a key that is not the
    one the store's credentials are encrypted with. Finishes a rotation left half-done, and
    waits for one still running in another process.
    """
    path = settings.master_key_file
    half_done = path is not None and (
        _pending(path).exists() or (not path.exists() and _retired(path).exists())
    )
    if settings.master_key is None and path is not None and half_done:
        with _key_lock(path):
            _settle_key_files(path, store)
    vault = _checked_vault(settings, store)
    vault.reopen = lambda: open_vault(settings, store)
    return vault


def _checked_vault(settings: Settings, store: Store) -> Vault:
    if settings.master_key is not None:
        key = _parse_key(settings.master_key.get_secret_value(), "KPIHUB_MASTER_KEY")
    elif settings.master_key_file is not None:
        key = _read_key_file(settings.master_key_file)
    else:
        raise ConfigError(f"no master key: set KPIHUB_MASTER_KEY_FILE (or KPIHUB_MASTER_KEY); {_CREATE_HINT}")
    vault = Vault(key)
    stored = _store_key_id(store)
    if stored is None:
        with store.begin() as conn:
            _set_store_key_id(conn, vault.primary_id)
    elif stored != vault.primary_id:
        raise CredentialError(
            f"the master key in use (id {vault.primary_id}) is not the one this store's credentials are "
            f"encrypted with (id {stored}); point KPIHUB_MASTER_KEY_FILE at the right key file"
        )
    return vault


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    credentials: int
    retired_key_file: Path


def rotate(settings: Settings, store: Store) -> Rotation:
    """Re-encrypt every stored credential under a new master key and install that key.

    Order matters: the new key is on disk (``<file>.new``) before the store changes, the store
    changes in one transaction, and the key file is replaced only after that commits. The key
    lock keeps other hub processes from repairing the files mid-way; the rows are locked so a
    credential saved during the rotation (a refreshed token) is re-encrypted, not overwritten.
    """
    path = settings.master_key_file
    if path is None:
        raise ConfigError(
            "key rotation needs KPIHUB_MASTER_KEY_FILE (the new key is written there); "
            "move the key from KPIHUB_MASTER_KEY into a file first"
        )
    with _key_lock(path):
        _settle_key_files(path, store)
        old = _checked_vault(settings, store)
        new_key = Fernet.generate_key()
        _write_secret_file(_pending(path), new_key + b"\n")
        new = Vault(new_key)
        count = 0
        with store.begin() as conn:
            conn.execute(select(vault_state.c.key_id).where(vault_state.c.id == 1).with_for_update())
            rows = conn.execute(
                select(connections.c.id, connections.c.credentials)
                .where(connections.c.credentials.is_not(None))
                .with_for_update()
            ).all()
            for row in rows:
                values = old.decrypt(row.credentials)
                conn.execute(
                    update(connections)
                    .where(connections.c.id == row.id)
                    .values(credentials=new.encrypt(values))
                )
                count += 1
            _set_store_key_id(conn, new.primary_id)
        return Rotation(old.primary_id, new.primary_id, count, _install_pending(path))


def current_key_id(conn: Connection) -> str | None:
    """The id of the key the store's credentials are under, read inside ``conn``'s transaction."""
    return conn.execute(select(vault_state.c.key_id).where(vault_state.c.id == 1)).scalar_one_or_none()
