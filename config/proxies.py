"""Which peers are trusted proxies (TRUSTED_PROXIES, CIDRs), and the client behind them.

Shared by both edges: the API's throttles (the client address) and the WebSocket Origin check
(the scheme the client used, from X-Forwarded-Proto). A header from any other peer is ignored,
so a client cannot pick its address or scheme. Empty (the default, and the embedded run):
nothing is trusted.
"""
import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]):
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def is_trusted(address: str | None) -> bool:
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str, forwarded_for: str | None) -> str:
    """The peer, or, when the peer is a trusted proxy, the X-Forwarded-For entries walked from
    the right past trusted proxies: the first that is not one (what the outermost trusted proxy
    saw; entries further left were written by the client and prove nothing)."""
    if not is_trusted(peer):
        return peer
    hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop
    return hops[0] if hops else peer
