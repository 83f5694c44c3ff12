"""The customer portal: open a ticket, check its status, follow and answer it."""
from . import routes  # noqa: F401  (routes register themselves on bp)
from .blueprint import bp

__all__ = ["bp"]
