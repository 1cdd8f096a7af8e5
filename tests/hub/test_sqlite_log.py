"""A large sync's SQLite write-ahead log: its size read as SQLite counts it, commits that leave
the copying to the log copier, and the copier copying beside the writers and emptying the log."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest
import sqlalchemy as sa

from hub.store import open_store
from hub.store.wal import LogCopier, log_frames

ROWS = sa.table("notes", sa.column("id", sa.Integer), sa.column("body", sa.Text))


@pytest.fixture
def sqlite_store(tmp_path, monkeypatch):
    # Ordinary commits copy the log from 50 pages, so a few hundred kB show the difference.
    monkeypatch.setattr("hub.store.database._SQLITE_CHECKPOINT_PAGES", 50)
    store = open_store(f"sqlite:///{tmp_path / 'hub.db'}")
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    yield store
    store.dispose()


def _write(store, first, count, **begin):
    """``count`` rows of 2 kB, about one page each."""
    with store.begin(**begin) as conn:
        rows = [{"id": n, "body": f"{n:06d}" * 340} for n in range(first, first + count)]
        conn.execute(ROWS.insert(), rows)


def _sqlite_says(path):
    """(pages in the log, pages of it copied), from SQLite itself, through its own connection."""
    with sqlite3.connect(path) as conn:
        _, pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return pages, copied


def test_log_frames_is_the_log_size_sqlite_reports(sqlite_store):
    _write(sqlite_store, 0, 300, log_pages=100_000)
    path = sqlite_store.sqlite_file
    frames = log_frames(path)
    assert frames > 300
    assert _sqlite_says(path)[0] == frames
    assert log_frames(path.with_name("absent.db")) == 0


def test_a_commit_with_log_pages_leaves_the_log_uncopied(sqlite_store):
    path = sqlite_store.sqlite_file
    size = os.path.getsize(path)
    _write(sqlite_store, 0, 300, log_pages=100_000)
    assert os.path.getsize(path) == size, "nothing was copied into the database file"
    # The connection is back at the ordinary setting: the next commit copies the log itself.
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 50
    _write(sqlite_store, 300, 10)
    assert os.path.getsize(path) > size + 300 * 2000
    pages, copied = _sqlite_says(path)
    assert pages == copied


def test_the_copier_copies_beside_the_writers_and_empties_the_log(sqlite_store):
    path = sqlite_store.sqlite_file
    copier = LogCopier(sqlite_store, copy_from=100, every=0.01)
    copier.start()
    size = os.path.getsize(path)
    deadline = time.monotonic() + 20
    first = 0
    while copier.copies == 0 and time.monotonic() < deadline:
        _write(sqlite_store, first, 50, log_pages=100_000)
        first += 50
    assert copier.copies > 0, "the copier copied while the writers wrote"
    assert os.path.getsize(path) > size
    _write(sqlite_store, first, 50, log_pages=100_000)
    copier.close()
    assert os.path.getsize(f"{path}-wal") == 0, "closing empties the log"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*), max(id) FROM notes").fetchone() == (first + 50, first + 49)
