"""Outgoing webhooks: events of the tickets' history POSTed, signed, to the URLs admins subscribe.

- queue.py: every history Event a transaction writes becomes one delivery row per enabled
  webhook subscribed to its kind, in that same transaction (a session hook), and `enqueue()` for
  any other caller (a rule's action);
- send.py: the scheduled job that claims due deliveries, POSTs them and retries with backoff;
- addresses.py: where a webhook may point (http or https, public addresses unless allowed).
"""
from .addresses import Refused, check_url
from .queue import enqueue, init_app
from .send import deliver_due, retry

__all__ = ["Refused", "check_url", "deliver_due", "enqueue", "init_app", "retry"]
