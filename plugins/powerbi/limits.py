"""Power BI push-dataset facts: documented limits, data types and name patterns.

Sources: learn.microsoft.com "Power BI REST API limitations" / "push semantic model
limitations" (limits), "Dataset properties" (data types, value restrictions), and the
``Table``/``Column``/``Relationship`` patterns of the official REST swagger.
"""

from __future__ import annotations

import re

__all__ = [
    "COLUMN_NAME",
    "DATA_TYPES",
    "LARGE_TABLE_ROWS",
    "MAX_COLUMNS",
    "MAX_PENDING_POSTS",
    "MAX_RELATIONSHIPS",
    "MAX_ROWS_FIFO",
    "MAX_ROWS_PER_POST",
    "MAX_ROWS_PER_TABLE",
    "MAX_STRING_CHARS",
    "MAX_TABLES",
    "POSTS_PER_HOUR_LARGE_TABLE",
    "POSTS_PER_MINUTE",
    "ROWS_PER_HOUR",
    "TABLE_NAME",
    "strict_pattern",
]

MAX_COLUMNS = 75
MAX_TABLES = 75
MAX_RELATIONSHIPS = 75
MAX_ROWS_PER_POST = 10_000
ROWS_PER_HOUR = 1_000_000
"""Rows added per hour per dataset."""
MAX_PENDING_POSTS = 5
"""POST rows requests in flight per dataset."""
POSTS_PER_MINUTE = 120
"""POST rows requests per minute per dataset."""
POSTS_PER_HOUR_LARGE_TABLE = 120
"""POST rows requests per hour per dataset once the target table holds ``LARGE_TABLE_ROWS``."""
LARGE_TABLE_ROWS = 250_000
MAX_ROWS_PER_TABLE = 5_000_000
"""Rows a table keeps with retention policy ``None``."""
MAX_ROWS_FIFO = 200_000
"""Rows a table keeps with ``basicFIFO`` (older ones are dropped)."""
MAX_STRING_CHARS = 4_000

DATA_TYPES = ("Int64", "Double", "Decimal", "Boolean", "DateTime", "String")
"""Column types of push datasets; the service reads them case-insensitively."""

_TABLE_NAME_SWAGGER = (
    r"^[\x09\x0A\x0D\x20\x23\x2D\x30-\x39\x40-\x5A\x5E-\x5F\x61-\x7A\x7E-\uD7FF"
    r"\uE000-\uFFFD\u10000-\u10FFFF]{1,100}$"
)
_COLUMN_NAME_SWAGGER = r"^[\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+$"


def strict_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a swagger name pattern as meant: Python reads ``\\u10000`` as ``\\u1000`` + ``0``,
    which would let ``: ; < = > ? [ ] { | }`` through, so the supplementary-plane range is
    rewritten with ``\\U`` escapes first."""
    return re.compile(pattern.replace(r"\u10000-\u10FFFF", r"\U00010000-\U0010FFFF"))


TABLE_NAME = strict_pattern(_TABLE_NAME_SWAGGER)
"""Table and relationship names: letters, digits, space, ``# - @ ^ _ ~`` and non-ASCII, 1-100."""
COLUMN_NAME = strict_pattern(_COLUMN_NAME_SWAGGER)
