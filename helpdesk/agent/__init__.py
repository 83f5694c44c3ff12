"""The agent panel: queues, the ticket page and every action on a ticket.

One module per page, each registering its routes on the blueprint (blueprint.py), in this order:
queue (the queues, their counts, CSV export and bulk actions), ticket (the ticket page,
attachment downloads and the action POSTs), live_views (the ticket page's live parts and who
else has it open), intake (tickets opened by an agent for a customer), customers (a customer and
their tickets), canned (canned responses: their page and the ticket page's picker), macros (their
page and applying one on a ticket), reports (the reports dashboard and its exports). responses.py holds how the views answer, forms.py the action
forms."""
from . import canned, customers, intake, live_views, macros, queue, reports, ticket  # noqa: F401  (each registers its views on bp)
from .blueprint import bp

__all__ = ["bp"]
