"""Where the hub lets credentials and data go: the operator's egress rules and their guards.

A tenant configures plugins, but never decides where a stored secret is sent. Each plugin
declares its platform's official hosts on its URL options (``sdk.Destination``); the hub's
operator may allow more hosts or address ranges with ``KPIHUB_EGRESS_ALLOW`` (an environment
setting on the hub's host, never something a tenant can set). Two checks apply:

- when options are saved (and again when a plugin is opened), every URL option must name an
  official host over https, or a host the operator allows;
- every request a plugin sends goes through ``EgressGuard``, which refuses hosts outside the
  plugin's declared ones and the operator's, and, on the network, any address that is not
  globally routable (loopback, private, link-local, shared, reserved) unless the operator
  allows its range. Redirects are not followed by the SDK's clients, so every hop is checked.

The address check resolves the host before httpx connects; a name that resolves differently
between the two (DNS rebinding) could slip through, which is why the host allow-list, not the
address check, is the first line: an attacker cannot make an official host resolve to an
internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from sdk import ConfigError

__all__ = ["EgressGuard", "EgressPolicy", "EgressRefused", "SyncEgressGuard", "check_url", "host_matches"]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Words the operator may use in KPIHUB_EGRESS_ALLOW for common sets of addresses.
_NAMED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "loopback": (("localhost",), ("127.0.0.0/8", "::1/128")),
    "private": ((), ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
}
SETTING = "KPIHUB_EGRESS_ALLOW"


class EgressRefused(ConfigError):
    """A request or an option would send credentials or data where the hub does not allow."""


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``patterns``: exact names, or ``*.suffix`` for any subdomain."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _address(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class EgressPolicy:
    """The operator's allowances beyond each plugin's official hosts."""

    hosts: tuple[str, ...] = ()
    networks: tuple[IpNetwork, ...] = field(default=())

    @classmethod
    def parse(cls, text: str | None) -> EgressPolicy:
        """From ``KPIHUB_EGRESS_ALLOW``: comma-separated host names (``*.corp.example`` for a
        domain), address ranges (``10.1.0.0/16``, ``192.0.2.7``) and the words ``loopback``
        (for local simulators) and ``private`` (RFC 1918 and unique-local ranges)."""
        hosts: list[str] = []
        networks: list[IpNetwork] = []
        for raw in (text or "").split(","):
            item = raw.strip().lower()
            if not item:
                continue
            if item in _NAMED:
                named_hosts, named_networks = _NAMED[item]
                hosts += named_hosts
                networks += [ipaddress.ip_network(n) for n in named_networks]
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
                continue
            except ValueError:
                pass
            if not all(part and (part == "*" or part.replace("-", "").isalnum()) for part in item.split(".")):
                raise ConfigError(
                    f"{SETTING}: {raw.strip()!r} is neither a host name, an address range nor one of "
                    f"{', '.join(sorted(_NAMED))}"
                )
            hosts.append(item)
        return cls(tuple(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Whether the operator allows ``host`` by name, or as an address in an allowed range."""
        address = _address(host)
        if address is not None:
            return any(address in network for network in self.networks)
        return host_matches(host, self.hosts)

    def allows_address(self, address: IpAddress) -> bool:
        """Whether a connection to ``address`` may be made: globally routable, or allowed."""
        return address.is_global or any(address in network for network in self.networks)


def check_url(option: str, value: str, official: Iterable[str], policy: EgressPolicy, *, owner: str) -> None:
    """Refuse a URL option that would send credentials off the platform's official hosts."""
    official = tuple(official)
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError):
        raise EgressRefused(f"{owner}: option {option} is not a URL") from None
    host = url.host
    if url.scheme not in ("http", "https") or not host:
        raise EgressRefused(f"{owner}: option {option} must be an http(s) URL with a host")
    if url.userinfo:
        raise EgressRefused(f"{owner}: option {option} may not carry a user name or password")
    if host_matches(host, official):
        if url.scheme != "https":
            raise EgressRefused(f"{owner}: option {option} must use https for {host}")
        return
    if policy.allows_host(host):
        return
    hosts = ", ".join(official) or "none declared"
    raise EgressRefused(
        f"{owner}: option {option} names host {host!r}, which is not one of the platform's hosts for it "
        f"({hosts}); leave it unset, or ask the hub's operator to allow that host in {SETTING}"
    )


class _Checks:
    """The host and address rules one plugin instance's traffic must pass."""

    def __init__(self, hosts: Iterable[str], policy: EgressPolicy, *, network: bool, owner: str) -> None:
        self.hosts = tuple(hosts)
        self.policy = policy
        self.network = network
        self.owner = owner

    def host(self, url: httpx.URL) -> None:
        if not (host_matches(url.host, self.hosts) or self.policy.allows_host(url.host)):
            raise EgressRefused(
                f"{self.owner}: refused a request to {url.host!r}, which is none of the hosts this plugin "
                f"may call; the hub's operator can allow it in {SETTING}"
            )

    def addresses(self, url: httpx.URL, found: Iterable[tuple[object, ...]]) -> None:
        if self.policy.allows_host(url.host):
            return
        for info in found:
            address = _address(str(info[4][0]))  # type: ignore[index]
            if address is not None and not self.policy.allows_address(address):
                raise EgressRefused(
                    f"{self.owner}: refused a request to {url.host!r}: it resolves to a loopback, private or "
                    f"link-local address; the hub's operator can allow that range in {SETTING}"
                )

    def port(self, url: httpx.URL) -> int:
        return url.port or (443 if url.scheme == "https" else 80)


class EgressGuard(httpx.AsyncBaseTransport):
    """An httpx transport that lets a plugin's requests through only to allowed places.

    ``inner`` is the transport the requests go on to: the network by default, or one a test or
    the demo injects (then only the host rule applies, since nothing reaches the network).
    """

    def __init__(
        self,
        hosts: Iterable[str],
        policy: EgressPolicy,
        *,
        inner: httpx.AsyncBaseTransport | None = None,
        owner: str = "the plugin",
    ) -> None:
        self._checks = _Checks(hosts, policy, network=inner is None, owner=owner)
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        self._checks.host(url)
        if self._checks.network:
            try:
                found = await asyncio.get_running_loop().getaddrinfo(
                    url.host, self._checks.port(url), type=socket.SOCK_STREAM
                )
            except OSError:
                found = []  # the connection fails the same way; httpx names it
            self._checks.addresses(url, found)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class SyncEgressGuard(httpx.BaseTransport):
    """``EgressGuard`` for libraries that need a synchronous client (msal)."""

    def __init__(
        self,
        hosts: Iterable[str],
        policy: EgressPolicy,
        *,
        inner: httpx.BaseTransport | None = None,
        owner: str = "the plugin",
    ) -> None:
        self._checks = _Checks(hosts, policy, network=inner is None, owner=owner)
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        self._checks.host(url)
        if self._checks.network:
            try:
                found = socket.getaddrinfo(url.host, self._checks.port(url), type=socket.SOCK_STREAM)
            except OSError:
                found = []
            self._checks.addresses(url, found)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
