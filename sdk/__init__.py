"""The contract between kpihub and its plugins.

Plugin authors import only from here: the ``hookimpl`` marker, the base classes for sources,
sinks and metric providers, the standard record models and the error tree. This package
imports nothing else of kpihub's, so a plugin built on it works with any hub of the same
major SDK version.
"""

from __future__ import annotations

from .errors import (
    ConfigError,
    CredentialError,
    KpihubError,
    MappingError,
    NotFound,
    PluginError,
    QuotaExhausted,
    RateLimited,
    RecordInvalid,
    StoreError,
    TerminalError,
    TransientError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from .hooks import PROJECT_NAME, hookimpl
from .metrics import MetricDefinition, MetricProvider
from .options import (
    SECRET_NAME,
    CredentialSpec,
    Destination,
    DestinationKind,
    PluginOptions,
    destination_fields,
    secret_field_names,
)
from .records import (
    STANDARD_RECORDS,
    AdPerformance,
    Assignment,
    FxRate,
    InventorySnapshot,
    Order,
    OrderItem,
    OrderStatus,
    Refund,
    RefundStatus,
    Review,
    ServiceTicket,
    Shipment,
    ShopDim,
    ShopRecord,
    SkuCost,
    SkuDim,
    Staff,
    StandardRecord,
    Team,
    UtcDatetime,
    standard_record,
)
from .sink import COLUMN_TYPES, Sink, SinkContext, TableBatch, TableSchema
from .source import Checkpoint, Partition, RawRecord, Source, SourceContext, Stream

__version__ = "1.0.0"
"""The SDK's own semantic version; a plugin is compatible with any hub of the same major.

A plugin declares the SDK it was built for in its module, ``__sdk_version__ = "1.0.0"``; the
hub refuses to load one built for another major version, with a load error naming both.
"""

__all__ = [
    "COLUMN_TYPES",
    "PROJECT_NAME",
    "SECRET_NAME",
    "STANDARD_RECORDS",
    "AdPerformance",
    "Assignment",
    "Checkpoint",
    "ConfigError",
    "CredentialError",
    "CredentialSpec",
    "Destination",
    "DestinationKind",
    "FxRate",
    "InventorySnapshot",
    "KpihubError",
    "MappingError",
    "MetricDefinition",
    "MetricProvider",
    "NotFound",
    "Order",
    "OrderItem",
    "OrderStatus",
    "Partition",
    "PluginError",
    "PluginOptions",
    "QuotaExhausted",
    "RateLimited",
    "RawRecord",
    "RecordInvalid",
    "Refund",
    "RefundStatus",
    "Review",
    "ServiceTicket",
    "Shipment",
    "ShopDim",
    "ShopRecord",
    "Sink",
    "SinkContext",
    "SkuCost",
    "SkuDim",
    "Source",
    "SourceContext",
    "Staff",
    "StandardRecord",
    "StoreError",
    "Stream",
    "TableBatch",
    "TableSchema",
    "Team",
    "TerminalError",
    "TransientError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "UtcDatetime",
    "__version__",
    "destination_fields",
    "hookimpl",
    "secret_field_names",
    "standard_record",
]
