"""Which kpihub scope a report's row is about: its shop (by id or name), platform or site.

Sellers name shops their own way, so a cell may hold ``platform:shop_id`` (kpihub's scope id),
the platform's shop id, or the shop's name as the shop dimension has it (case aside). A name
that fits no shop, or several, is an error that says which shops there are. A caller limited to
some shops sees only those: a row about any other shop, known or not, is left out and counted,
so the answer never tells such a caller which other shops exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from ..store.kpi_tables import dim_shop

__all__ = ["Hidden", "ScopeResolver", "Visible"]

Visible = Callable[[str, str], bool]
"""Whether a caller may see the shop (platform, shop id)."""


class Hidden(Exception):
    """The row is about a shop the caller may not see (or one that does not exist)."""


@dataclass(frozen=True)
class _Shop:
    key: str
    shop_id: str
    platform: str
    site: str | None
    name: str | None


class ScopeResolver:
    def __init__(
        self, conn: Connection, tenant_id: int, tenant: str, scope: str, visible: Visible | None
    ) -> None:
        self.scope, self.tenant, self.visible = scope, tenant, visible
        d = dim_shop.c
        rows = conn.execute(
            sa.select(d.shop_key, d.shop_id, d.platform, d.site, d.shop_name)
            .where(d.tenant_id == tenant_id)
            .order_by(d.shop_key)
        )
        every = [_Shop(r.shop_key, r.shop_id, r.platform, r.site, r.shop_name) for r in rows]
        self.shops = [s for s in every if visible is None or visible(s.platform, s.shop_id)]

    def shops_of(self, scope_id: str) -> set[str] | None:
        """The shop keys a scope id covers (None: every shop of the tenant)."""
        if self.scope == "tenant":
            return None
        if self.scope == "shop":
            return {scope_id}
        if self.scope == "platform":
            return {s.key for s in self.shops if s.platform == scope_id}
        return {s.key for s in self.shops if f"{s.platform}:{s.site}" == scope_id}

    def resolve(self, label: str | None) -> str:
        """The scope id ``label`` names; ``ValueError`` says why none, ``Hidden`` that it is not
        the caller's to see."""
        if self.scope == "tenant" or label is None:
            return self.tenant
        if not self.shops and self.visible is None:
            raise ValueError("kpihub has no shops yet: sync the shops, run kpihub compute, then reconcile")
        if self.scope == "shop":
            return self._shop(label)
        if self.scope == "platform":
            found = sorted({s.platform for s in self.shops if s.platform.casefold() == label.casefold()})
            return self._one(found, label, "platform", sorted({s.platform for s in self.shops}))
        sites = sorted({f"{s.platform}:{s.site}" for s in self.shops if s.site})
        wanted = label.replace("/", ":").replace(" ", ":").casefold()
        found = [x for x in sites if x.casefold() == wanted or x.split(":", 1)[1].casefold() == wanted]
        return self._one(found, label, "site", sites)

    def _shop(self, label: str) -> str:
        exact = [s for s in self.shops if s.key == label]
        if not exact:
            exact = [s for s in self.shops if label in (s.shop_id, s.name)]
        if not exact:
            exact = [s for s in self.shops if s.name is not None and s.name.casefold() == label.casefold()]
        known = [f"{s.name} ({s.key})" if s.name else s.key for s in self.shops]
        return self._one([s.key for s in exact], label, "shop", known, hint="write it as platform:shop_id")

    def _one(self, found: list[str], label: str, what: str, known: list[str], hint: str = "") -> str:
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ValueError(
                f"{what} {label!r} matches several: {', '.join(found)}; {hint or 'be more precise'}"
            )
        if self.visible is not None:
            raise Hidden(label)
        shown = ", ".join(known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
        raise ValueError(f"{what} {label!r} matches no kpihub {what}; the {what}s are: {shown or 'none'}")
