"""A customer's page in the agent panel: who they are and every ticket of theirs the agent may see,
so their correspondence is read in the desk."""
from flask import abort
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .. import tickets
from ..extensions import db
from ..htmx import render
from ..models import Customer, Ticket
from .blueprint import bp

# A customer's page lists this many of their tickets, newest first.
LIMIT = 200


@bp.get("/customers/<int:customer_id>")
def customer(customer_id):
    """The customer and their tickets (404 unless the agent may see one of them)."""
    person = db.session.get(Customer, customer_id)
    where = [Ticket.customer_id == customer_id]
    clause = tickets.visibility_clause(current_user)
    if clause is not None:
        where.append(clause)
    count = db.session.scalar(select(func.count()).select_from(Ticket).where(*where)) if person else 0
    if not count:
        abort(404, "There is no such customer, or none of their tickets is yours to see.")
    rows = db.session.scalars(
        select(Ticket).where(*where).options(joinedload(Ticket.priority), joinedload(Ticket.assignee))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(LIMIT)).all()
    return render("agent/customer.html", customer=person, rows=rows, count=count, limit=LIMIT)
