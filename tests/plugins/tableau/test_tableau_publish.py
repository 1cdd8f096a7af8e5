"""Publishing extracts to a local fake of Tableau Server: personal-access-token sign-in, the
project found by name, data sources overwritten, big files uploaded in chunks, sign-out."""

from __future__ import annotations

import asyncio

import pytest

from plugins.tableau import HyperSink
from plugins.tableau.simulator import TableauSimulator
from sdk import CredentialError, TableBatch, TableSchema
from sdk.simulator import running

SCHEMA = TableSchema("kpi_fact", {"id": "int", "metric_id": "str", "value": "float"}, ("id",))


def sink_for(origin, sim, tmp_path, *, secret=None, **options):
    return HyperSink(
        HyperSink.Options(directory=str(tmp_path / "extracts"), server_url=origin, site=sim.site, **options),
        HyperSink.Credentials(pat_name=sim.pat_name, pat_secret=secret or sim.pat_secret),
    )


async def push(sink, batches):
    try:
        await sink.prepare([SCHEMA])
        for rows, full in batches:
            await sink.push(TableBatch("kpi_fact", SCHEMA.columns, SCHEMA.key, iter(rows)), full=full)
    finally:
        await sink.aclose()


def rows(n, start=0):
    return [{"id": i, "metric_id": f"m{i % 5}", "value": i / 3} for i in range(start, start + n)]


def test_extracts_are_published_overwritten_and_chunked(tmp_path):
    sim = TableauSimulator()
    with running(sim) as origin:
        sink = sink_for(origin, sim, tmp_path, datasource_prefix="kpihub_")
        asyncio.run(push(sink, [(rows(100), True), (rows(50, 100), False)]))
        project, data = sim.datasources["kpihub_kpi_fact"]
        assert project == sim.projects["Default"]
        assert data == (tmp_path / "extracts" / "kpi_fact.hyper").read_bytes()  # the appended extract
        assert sim.stats["publish"].requests == 2 and sim.stats["upload_chunk"].requests == 0
        assert sim.signed_out == 1

        # A file above the chunk size goes up through an upload session, in pieces.
        big = sink_for(origin, sim, tmp_path, chunk_bytes=2**20)
        asyncio.run(push(big, [(rows(120_000), True)]))
        size = (tmp_path / "extracts" / "kpi_fact.hyper").stat().st_size
        assert size > 2**20
        assert sim.stats["upload_chunk"].requests == -(-size // 2**20)
        assert sim.datasources["kpi_fact"][1] == (tmp_path / "extracts" / "kpi_fact.hyper").read_bytes()


def test_a_bad_token_is_a_credential_error_without_the_secret(tmp_path):
    sim = TableauSimulator()
    with running(sim) as origin:
        sink = sink_for(origin, sim, tmp_path, secret="wrong-secret-123")
        with pytest.raises(CredentialError) as caught:
            asyncio.run(push(sink, []))
    assert "wrong-secret-123" not in str(caught.value)
    assert not sim.datasources
