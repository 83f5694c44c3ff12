"""API keys: what a tool (chat, shop, monitoring) uses on the REST API; only a hash is stored."""
from __future__ import annotations

import hashlib
import ipaddress
import secrets
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from .people import Agent

API_SCOPES = ("create", "read")


API_KEY_PREFIX = "hd_"


def hash_api_key(secret: str) -> str:
    """Keys are long random tokens, so a plain sha256 is enough to store them safely."""
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


class ApiKey(db.Model):
    """A key a tool (chat, shop, monitoring) uses on the REST API; only its hash is stored."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, so admins can tell keys apart; not enough to use it.
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(String(40))  # comma separated API_SCOPES
    ip_ranges: Mapped[str] = mapped_column(Text, default="")  # one network per line; empty: any
    created_at: Mapped[datetime] = mapped_column(default=clock.current)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    last_used_at: Mapped[Optional[datetime]]
    last_used_ip: Mapped[Optional[str]] = mapped_column(String(45))
    revoked_at: Mapped[Optional[datetime]]

    created_by: Mapped[Optional[Agent]] = relationship()

    @staticmethod
    def generate() -> str:
        return API_KEY_PREFIX + secrets.token_urlsafe(32)

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split(",") if s]

    @property
    def networks(self) -> list:
        return [ipaddress.ip_network(line.strip(), strict=False)
                for line in self.ip_ranges.splitlines() if line.strip()]

    def allows_ip(self, address: str | None) -> bool:
        networks = self.networks
        if not networks:
            return True
        try:
            ip = ipaddress.ip_address((address or "").split("%")[0])
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in net for net in networks)
