"""Valid data for the admin forms more than one test module submits; keyword arguments change a
field, None leaves it out."""
from __future__ import annotations

from helpdesk.config import ALLOWED_TYPES


def settings_data(**over):
    """The desk settings form (/admin/settings)."""
    data = {"desk_name": "Acme Support", "timezone": "Europe/Berlin", "max_attachment_mb": "10",
            "max_attachments": "5", "allowed_types": sorted(ALLOWED_TYPES), "reopen_days": "14",
            "access_link_days": "90"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}
