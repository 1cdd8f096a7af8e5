"""The credential vault: encryption at rest, wrong keys, and rotation that survives interruption."""

from __future__ import annotations

import asyncio
import os
import stat
import threading

import pytest
import sqlalchemy as sa

from hub import vault as vault_module
from hub.connections import get_connection, open_source
from hub.settings import Settings
from hub.store.tables import connections
from hub.vault import Vault, create_key_file, open_vault, rotate
from sdk import ConfigError, CredentialError

CREDENTIALS = {"seller_id": "A1", "api_key": "sk-vault-secret-42"}


def _api_key(hub, name="shop1"):
    fresh = open_vault(Settings(), hub.ready_store)
    source = open_source(hub.ready_store, fresh, hub.registry, get_connection(hub.ready_store, name))
    return source.credentials.api_key.get_secret_value()


def test_key_file_is_private(tmp_path):
    path = tmp_path / "k"
    create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ConfigError, match="already exists"):
        create_key_file(path)


def test_group_readable_key_file_is_refused(hub, key_file):
    os.chmod(key_file, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        open_vault(Settings(), hub.ready_store)


def test_ciphertext_names_its_key_and_round_trips(tmp_path):
    path = tmp_path / "k"
    kid = create_key_file(path)
    vault = Vault(path.read_bytes().strip())
    token = vault.encrypt({"a": "secret-value"})
    assert token.startswith(f"v1:{kid}:") and "secret-value" not in token
    assert vault.decrypt(token) == {"a": "secret-value"}
    assert "secret" not in repr(vault)
    other = tmp_path / "k2"
    create_key_file(other)
    with pytest.raises(CredentialError, match=f"encrypted with master key {kid}"):
        Vault(other.read_bytes().strip()).decrypt(token)


def test_rotation_re_encrypts_everything(hub, connect, key_file):
    connect("shop1", options={"shop_id": "shop1"}, credentials=CREDENTIALS)
    connect("shop2", options={"shop_id": "shop2"}, credentials=CREDENTIALS)
    old_key = key_file.read_bytes()
    done = rotate(Settings(), hub.ready_store)
    assert done.credentials == 2
    assert key_file.read_bytes() != old_key and done.retired_key_file.read_bytes() == old_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _api_key(hub, "shop1") == _api_key(hub, "shop2") == CREDENTIALS["api_key"]
    with hub.ready_store.begin() as conn:
        tokens = conn.execute(sa.select(connections.c.credentials)).scalars().all()
    assert all(t.startswith(f"v1:{done.new_key_id}:") for t in tokens)


def test_rotation_interrupted_before_commit_loses_nothing(hub, connect, key_file):
    connect(credentials=CREDENTIALS)
    old_key = key_file.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut before the store committed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vault_module, "_set_store_key_id", crash)
        with pytest.raises(KeyboardInterrupt):
            rotate(Settings(), hub.ready_store)

    assert key_file.read_bytes() == old_key
    assert _api_key(hub) == CREDENTIALS["api_key"]
    assert not key_file.with_name(key_file.name + ".new").exists(), "the abandoned pending key is cleaned up"


def test_rotation_interrupted_after_commit_loses_nothing(hub, connect, key_file):
    connect(credentials=CREDENTIALS)
    real_replace = os.replace

    def crash(src, dst):
        if str(src) == str(key_file):
            raise KeyboardInterrupt("power cut after the store committed")
        return real_replace(src, dst)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vault_module.os, "replace", crash)
        with pytest.raises(KeyboardInterrupt):
            rotate(Settings(), hub.ready_store)

    # The store is under the new key while the key file still holds the old one: opening the
    # vault finishes the rotation instead of locking the seller out.
    assert _api_key(hub) == CREDENTIALS["api_key"]
    assert not key_file.with_name(key_file.name + ".new").exists()
    assert _api_key(hub) == CREDENTIALS["api_key"]


def test_rotation_needs_a_key_file(hub, key_file, monkeypatch):
    monkeypatch.delenv("KPIHUB_MASTER_KEY_FILE")
    monkeypatch.setenv("KPIHUB_MASTER_KEY", key_file.read_text().strip())
    with pytest.raises(ConfigError, match="KPIHUB_MASTER_KEY_FILE"):
        rotate(Settings(), hub.ready_store)


def test_rotation_interrupted_between_the_renames_loses_nothing(hub, connect, key_file):
    connect(credentials=CREDENTIALS)
    real_replace = os.replace

    def crash(src, dst):
        if str(src).endswith(".new"):
            raise KeyboardInterrupt("power cut between the renames")
        return real_replace(src, dst)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vault_module.os, "replace", crash)
        with pytest.raises(KeyboardInterrupt):
            rotate(Settings(), hub.ready_store)
    assert not key_file.exists(), "the crash left no key file in place"

    assert _api_key(hub) == CREDENTIALS["api_key"]
    assert key_file.exists() and not key_file.with_name(key_file.name + ".new").exists()


def test_hub_started_during_a_rotation_waits_for_it(hub, connect, key_file):
    """Another process opening the vault mid-rotation must not touch the pending key."""
    connect(credentials=CREDENTIALS)
    opened = {}
    real_set = vault_module._set_store_key_id

    def open_elsewhere():
        opened["vault"] = open_vault(Settings(), hub.ready_store)

    def during_commit(conn, kid):
        other = threading.Thread(target=open_elsewhere)
        other.start()
        other.join(timeout=0.5)
        opened["waited"] = other.is_alive()
        opened["thread"] = other
        real_set(conn, kid)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vault_module, "_set_store_key_id", during_commit)
        done = rotate(Settings(), hub.ready_store)
    opened["thread"].join(timeout=10)

    assert opened["waited"], "the other process waited for the rotation's key lock"
    assert opened["vault"].primary_id == done.new_key_id
    assert _api_key(hub) == CREDENTIALS["api_key"]


def test_token_saved_after_a_rotation_is_encrypted_under_the_new_key(hub, connect):
    """A sync that refreshes a token after someone rotated the key must not strand it."""
    info = connect(credentials=CREDENTIALS)
    source = open_source(hub.ready_store, hub.vault, hub.registry, info)  # vault of the old key
    rotate(Settings(), hub.ready_store)

    refreshed = source.Credentials(seller_id="A1", api_key="sk-refreshed-after-rotation")
    asyncio.run(source.context.save_credentials(refreshed))

    assert _api_key(hub) == "sk-refreshed-after-rotation"
