"""The Host and Origin checks: who may address this server, and which pages may change it.

A browser trusts any page to talk to the host name it was loaded from. DNS rebinding
points a name the attacker owns (``evil.example``) at 127.0.0.1 once a page from it is
open, so that page can read the local API; the request still says ``Host: evil.example``,
so answering only to trusted names defeats it. Cross-site request forgery makes a page
from elsewhere send a write to this server; the browser names that page in ``Origin``.

Trusted names: loopback names (localhost, 127.0.0.0/8, ::1), the address the server is
bound to, and ``FACTORY_TRUSTED_HOSTS``. Ports are ignored. ``*`` turns the Host check
off; a write from a page must then come from the host it addresses.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from strategy_factory.errors import shorten
from strategy_factory.service.config import ANY_HOST, ServiceSettings, is_loopback

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SHOWN = 200  # characters of a refused host or origin repeated in the answer


def host_name(host: str) -> str:
    """The name in a Host header or a configured host, without port, lower case.

    Example: ``host_name("[::1]:8400") == "::1"``, ``host_name("Factory.local.:80") ==
    "factory.local"``.
    """
    text = host.strip().lower()
    if text.startswith("["):
        name = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        name = text.partition(":")[0]
    else:  # a name without a port, or a bare IPv6 address
        name = text
    return name.rstrip(".")


def origin_name(origin: str) -> str | None:
    """The host name of an Origin header (``None`` for ``null`` or anything malformed)."""
    try:
        name = urlsplit(origin.strip()).hostname
    except ValueError:
        return None
    return name.rstrip(".") if name else None


class TrustedHosts:
    """The host names this server answers to (see the module's docstring)."""

    def __init__(self, settings: ServiceSettings) -> None:
        listed = {host_name(name) for name in settings.trusted_hosts}
        self.anyone = ANY_HOST in listed
        bound = set() if settings.every_address else {host_name(settings.host)}
        self.names = frozenset((listed - {ANY_HOST}) | bound)

    def trusts(self, name: str | None) -> bool:
        """Whether ``name`` (already normalised) is a trusted name."""
        return name is not None and (name in self.names or is_loopback(name))

    def refusal(self, host: str | None, origin: str | None, method: str) -> tuple[int, str] | None:
        """The status and message refusing a request, or ``None`` to let it through."""
        name = None if host is None else host_name(host)
        if not self.anyone and not self.trusts(name):
            shown = "no Host header" if host is None else f"Host {shorten(host, _SHOWN)!r}"
            return 400, (
                f"the request names {shown}, a host this server does not answer to (a defence "
                "against DNS rebinding): reach it by a trusted name such as 127.0.0.1, or add "
                "the name clients use to FACTORY_TRUSTED_HOSTS on the server"
            )
        if origin is None or method.upper() not in STATE_CHANGING:
            return None
        from_page = origin_name(origin)
        if self.trusts(from_page) or (self.anyone and from_page is not None and from_page == name):
            return None
        return 403, (
            f"the request comes from a web page at Origin {shorten(origin, _SHOWN)!r}, which "
            "this server does not trust to change anything (a defence against cross-site "
            "request forgery): use the dashboard this server serves, or add that host to "
            "FACTORY_TRUSTED_HOSTS on the server"
        )


class HostCheck:
    """Pure ASGI middleware refusing untrusted Host headers (400) and, on state-changing
    requests, untrusted Origin headers (403), before the application sees them."""

    def __init__(self, app: ASGIApp, trusted: TrustedHosts) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method = scope.get("method", "GET")
        refused = self.trusted.refusal(headers.get("host"), headers.get("origin"), method)
        if refused is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "untrusted host"})
        else:
            status, message = refused
            await JSONResponse({"detail": message}, status_code=status)(scope, receive, send)
