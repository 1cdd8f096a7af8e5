"""The database sink passes the SDK's sink kit, on a SQLite file (its dialects are tested in depth
next to it)."""

from __future__ import annotations

import sqlalchemy as sa

from plugins.database import DatabaseSink
from sdk.testing import SinkKit


class TestDatabaseSinkContract(SinkKit):
    sink = DatabaseSink

    def make_sink(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'kpis.db'}"
        return DatabaseSink(DatabaseSink.Options(), DatabaseSink.Credentials(url=url))

    def read_back(self, sink, table):
        engine = sa.create_engine(sink.credentials.url.get_secret_value())
        try:
            target = sa.Table(table, sa.MetaData(), autoload_with=engine)  # typed, as the sink made it
            with engine.connect() as conn:
                return [dict(row) for row in conn.execute(sa.select(target)).mappings()]
        finally:
            engine.dispose()
