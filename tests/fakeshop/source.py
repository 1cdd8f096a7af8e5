"""The fake source: one paged ``orders`` stream, resumable by page number."""

from __future__ import annotations

import logging
import os
import signal
from typing import ClassVar

from pydantic import SecretStr

from sdk import Checkpoint, CredentialError, Partition, Source, Stream, UpstreamUnavailable

from . import data

log = logging.getLogger("fakeshop")


class Interrupted(BaseException):
    """Stands for a crash: not an Exception, so nothing in the hub may swallow it."""


def crash_point() -> tuple[tuple[int, int] | None, str]:
    """Where to crash, from FAKESHOP_CRASH_AT="page,position" and FAKESHOP_CRASH_WITH."""
    at = os.environ.get("FAKESHOP_CRASH_AT")
    point = tuple(int(part) for part in at.split(",")) if at else None
    return point, os.environ.get("FAKESHOP_CRASH_WITH", "exception")


class OrdersStream(Stream):
    name = "orders"
    primary_key = ("id",)
    cursor_field = "modified"
    default_mapping = "mapping.json"

    async def read(self, partition: Partition, state: dict):
        await self.source.check()
        options = self.source.options
        orders = data.orders(options.seed, options.orders)
        crash_at, crash_with = crash_point()
        page = int(state.get("next_page", 0))
        size = options.page_size
        while page * size < len(orders):
            self.source.pages_served.append(page)
            for position, order in enumerate(orders[page * size : (page + 1) * size]):
                if (page, position) == crash_at:
                    if crash_with == "sigkill":
                        os.kill(os.getpid(), signal.SIGKILL)
                    raise Interrupted(f"crash at page {page} position {position}")
                yield order
            page += 1
            yield Checkpoint({"next_page": page})
        if options.fail_after_all:
            raise UpstreamUnavailable("fake platform is down for maintenance", retry_after=30)


class FakeShopSource(Source):
    name: ClassVar[str] = "fakeshop"
    platform: ClassVar[str] = "fakeshop"
    version: ClassVar[str] = "1.0.0"

    class Options(Source.Options):
        seed: int = 7
        orders: int = 23
        page_size: int = 5
        fail_after_all: bool = False

    class Credentials(Source.Credentials):
        seller_id: str
        api_key: SecretStr

    VALID_KEY_PREFIX = "sk-"

    def __init__(self, options, credentials, context):
        super().__init__(options, credentials, context)
        self.pages_served: list[int] = []

    def streams(self):
        return [OrdersStream(self)]

    async def check(self):
        log.debug("checking seller %s with %r", self.credentials.seller_id, self.credentials)
        if not self.credentials.api_key.get_secret_value().startswith(self.VALID_KEY_PREFIX):
            raise CredentialError(
                f"connection {self.context.connection!r}: the fake platform rejected the api key"
            )
