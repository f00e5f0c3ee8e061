"""Who is on the other end: the client's IP address, proxies taken into account.

``X-Forwarded-For`` is believed only when the peer is a configured trusted proxy
(``TRUSTED_PROXIES``); the address used is the right-most hop that is not itself
a trusted proxy, so a client cannot choose its own address by sending the header.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from quart import current_app, g, request


@lru_cache(maxsize=32)
def parse_networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` -> networks; a bad entry raises ValueError at startup."""
    return tuple(
        ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip()
    )


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip() -> str:
    if hasattr(g, "client_ip"):
        return g.client_ip
    peer = request.remote_addr or ""
    networks = parse_networks(current_app.config["PORTAL"].trusted_proxies)
    address = peer
    if networks and _trusted(peer, networks):
        hops = [h.strip() for h in ",".join(request.headers.getlist("X-Forwarded-For")).split(",")]
        for hop in reversed([h for h in hops if h]):
            address = hop
            if not _trusted(hop, networks):
                break
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            address = peer  # a garbled header from behind the proxy: fall back to the proxy
    g.client_ip = address[:64]
    return g.client_ip


def user_agent() -> str:
    return request.headers.get("User-Agent", "")[:300]
