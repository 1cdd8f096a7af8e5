"""Publishing: pushing the published KPI tables into the configured sinks.

``add_sink`` stores a sink (credentials in the vault); ``push_sink`` opens it and pushes what
changed since its watermarks. The CLI (``kpihub push``) and the scheduler both call
``push_sink``.
"""

from __future__ import annotations

from .catalog import DEFAULT_TABLES, PublishedTable, catalog, published_table, select_tables
from .engine import Progress, PushResult, TableResult, prepare_tables, push_tables
from .run import push_sink
from .sinks import SINK_STATUSES, SinkInfo, add_sink, get_sink, list_sinks, open_sink, update_sink

__all__ = [
    "DEFAULT_TABLES",
    "SINK_STATUSES",
    "Progress",
    "PublishedTable",
    "PushResult",
    "SinkInfo",
    "TableResult",
    "add_sink",
    "catalog",
    "get_sink",
    "list_sinks",
    "open_sink",
    "prepare_tables",
    "published_table",
    "push_sink",
    "push_tables",
    "select_tables",
    "update_sink",
]
