"""Where a webhook may send: http or https, to public addresses only, unless the desk's
HELPDESK_WEBHOOK_ALLOW names the host or a network holding its address.

Checked when the webhook is saved (a clear message) and again before every attempt, since what
a name points to can change: the sender connects to the very address it checked, never to a
second look-up of the name. Every address a name resolves to must pass."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

URL_MAX = 2000


class Refused(ValueError):
    """A URL the desk will not send to; the message says why, for the admin."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (the Host header, the TLS server name)
    port: int
    path: str  # with the query string
    address: str  # the checked IP address to connect to


def _allow_list(value: str) -> tuple[set[str], list]:
    """HELPDESK_WEBHOOK_ALLOW: comma-separated host names, addresses and networks."""
    hosts, networks = set(), []
    for item in (value or "").replace("\n", ",").split(","):
        item = item.strip().lower()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.rstrip("."))
    return hosts, networks


def _not_public(ip) -> str | None:
    """Why an address is not a public one, or None."""
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    for flag, what in (("is_unspecified", "an unspecified address"), ("is_loopback", "a loopback address (this machine)"),
                       ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
                       ("is_private", "a private address"), ("is_reserved", "a reserved address")):
        if getattr(ip, flag):
            return what
    if not ip.is_global:
        return "not a public address"
    return None


def _resolve(host: str, port: int) -> list:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Refused(f"The host {host} could not be found.") from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise Refused(f"The host {host} could not be found.")
    return addresses


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a webhook URL; Refused when it is not one."""
    url = (url or "").strip()
    if len(url) > URL_MAX:
        raise Refused(f"The URL is longer than {URL_MAX} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("That is not a valid URL (e.g. https://example.com/hooks/helpdesk).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("The URL must start with http:// or https://.")
    if not parts.hostname:
        raise Refused("The URL has no host name (e.g. https://example.com/hooks/helpdesk).")
    if parts.username is not None or parts.password is not None:
        raise Refused("Put no user name or password in the URL: the signature tells the receiver who sent it.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise Refused("The URL may not contain spaces or control characters.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, parts.hostname.lower().rstrip("."), port or (443 if scheme == "https" else 80), path


def check_url(url: str, config=None) -> Target:
    """The checked target of a URL: the address to connect to; Refused with the reason otherwise."""
    config = config if config is not None else current_app.config
    scheme, host, port, path = parse(url)
    hosts, networks = _allow_list(config.get("HELPDESK_WEBHOOK_ALLOW", ""))
    addresses = _resolve(host, port)
    if host not in hosts:
        for ip in addresses:
            reason = _not_public(ip)
            if reason and not any(ip.version == n.version and ip in n for n in networks):
                shown = host if str(ip) == host else f"{host} ({ip})"
                raise Refused(f"{shown} is {reason}: webhooks go to public addresses only, "
                              "unless the desk's HELPDESK_WEBHOOK_ALLOW setting allows it.")
    return Target(scheme, host, port, path, str(addresses[0]))
