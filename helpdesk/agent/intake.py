"""Tickets opened by an agent on a customer's behalf (phone, mail, chat, at the counter)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import tickets
from ..attachments import from_field
from ..extensions import db
from ..htmx import is_partial, render
from ..models import Customer, HelpTopic, Priority, Ticket
from ..text import is_number
from ..tickets import BODY_MAX, NAME_MAX, SUBJECT_MAX, search
from ..web.fields import one_email_address
from .blueprint import bp
from .forms import IdSelect

AGENT_SOURCES = [
    ("phone", "Phone call"),
    ("email", "Email (forwarded or read out)"),
    ("chat", "Chat"),
    ("agent", "Other (in person, letter…)"),
]
SEARCH_MAX = 100
RESULTS_MAX = 10


def directory(agent) -> list:
    """The customers this agent may look up, as SQL conditions: managers and admins every
    customer; an agent those with a ticket the agent may see (their departments, teams and
    assignments), whose names and addresses their tickets show them anyway."""
    if agent.is_manager:
        return []
    return [Customer.id.in_(select(Ticket.customer_id).where(tickets.visibility_clause(agent)))]


def find_customer(agent, customer_id: int) -> Customer | None:
    """The customer with this id if it is in the agent's directory, else None (alike)."""
    return db.session.scalar(select(Customer).where(Customer.id == customer_id, *directory(agent)))


def search_customers(q: str, chosen_id: int | None = None) -> list[Customer]:
    """Customers of the signed-in agent's directory whose name or email holds every word of q
    (case-insensitive, on the ticket search's index), plus the one already chosen."""
    q = (q or "").strip()[:SEARCH_MAX]
    agent = current_user._get_current_object()
    found: list[Customer] = []
    condition = search.customer_condition(q) if len(q) >= 2 else None
    if condition is not None:
        found = list(db.session.scalars(
            select(Customer).where(condition, *directory(agent))
            .order_by(Customer.name, Customer.id).limit(RESULTS_MAX)
        ))
    if chosen_id and all(c.id != chosen_id for c in found):
        chosen = find_customer(agent, chosen_id)
        if chosen is not None:
            found.insert(0, chosen)
    return found


def _customer_id(value):
    if isinstance(value, int):
        return value
    value = (value or "").strip()
    return int(value) if is_number(value) and len(value) < 10 else None


class AgentTicketForm(FlaskForm):
    source = SelectField("How did the request come in?", default="phone")
    customer_q = StringField("Find a customer", validators=[Optional(), Length(max=SEARCH_MAX)])
    customer_id = RadioField("Customer", coerce=_customer_id, validate_choice=False, validators=[Optional()])
    new_name = StringField("Name", validators=[Optional(), Length(max=NAME_MAX)])
    new_email = EmailField("Email address", validators=[Optional(), Length(max=254), one_email_address])
    topic = IdSelect("Help topic", model=HelpTopic)
    priority = IdSelect("Priority", model=Priority)
    subject = StringField("Subject", validators=[
        DataRequired("Give the request a short subject."), Length(max=SUBJECT_MAX)])
    description = TextAreaField("What the customer needs", validators=[
        DataRequired("Write down what the customer told you."), Length(max=BODY_MAX)])
    attachments = MultipleFileField("Attachments")
    notify_customer = BooleanField("Mail the customer the ticket number and their link", default=True)

    customer: Customer | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.source.choices = list(AGENT_SOURCES)
        topics = db.session.scalars(select(HelpTopic).where(HelpTopic.active.is_(True))
                                    .order_by(HelpTopic.sort, HelpTopic.name))
        self.topic.choices = [(0, "Choose a topic…")] + [
            (t.id, t.name if t.public else f"{t.name} (internal)") for t in topics]
        self.priority.choices = [(0, "The topic's default")] + [
            (p.id, p.name) for p in db.session.scalars(select(Priority).order_by(Priority.urgency.desc()))]
        self.customer_id.choices = []

    def validate_topic(self, field):
        if not field.data:
            raise ValidationError("Choose a help topic.")

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        chosen = self.customer_id.data
        if chosen:
            self.customer = find_customer(current_user, chosen)
            if self.customer is None:
                self.customer_id.errors.append("That customer no longer exists. Search again.")
                return False
        elif not (self.new_email.data or "").strip():
            self.customer_id.errors.append("Choose a customer from the search, or enter a new customer's "
                                           "name and email address.")
            return False
        elif not (self.new_name.data or "").strip():
            self.new_name.errors.append("Enter the new customer's name.")
            return False
        return ok


def _page(form: AgentTicketForm, status: int = 200, problem: str | None = None):
    results = search_customers(form.customer_q.data or "", form.customer_id.data)
    return render("agent/new_ticket.html", form=form, results=results, problem=problem, status=status,
                  searched=bool((form.customer_q.data or "").strip()))


@bp.route("/new", methods=["GET", "POST"])
def new_ticket():
    """Open a ticket for a customer who called, wrote or came by; the agent is in its history."""
    if request.method == "GET":
        form = AgentTicketForm(formdata=request.args if request.args else None, meta={"csrf": False})
        if not request.args:
            form.notify_customer.data = True
        return _page(form)
    form = AgentTicketForm()
    valid = form.validate()
    uploads = from_field(form.attachments)
    valid = valid and uploads is not None
    if not valid:
        return _page(form, 400, "Please check the marked fields. No ticket was opened yet.")
    name, email = ((form.customer.name, form.customer.email) if form.customer
                   else (form.new_name.data, form.new_email.data))
    try:
        ticket = tickets.open_ticket(
            name=name, email=email, subject=form.subject.data, body=form.description.data,
            topic=form.topic.record, priority=form.priority.record, source=form.source.data,
            uploads=uploads, agent=current_user._get_current_object(),
            notify_customer=form.notify_customer.data,
        )
    except tickets.LifecycleError as exc:
        return _page(form, exc.status, exc.message)
    mailed = " The customer was mailed their link." if form.notify_customer.data else ""
    if tickets.can_see(current_user, ticket):
        flash(f"Ticket #{ticket.number} was opened.{mailed}", "success")
        return redirect(url_for("agent.ticket", number=ticket.number))
    flash(f"Ticket #{ticket.number} was opened in {ticket.department.name}, which you do not see.{mailed}",
          "success")
    return redirect(url_for("agent.queue"))


@bp.get("/customers")
def customer_search():
    """Search-as-you-type over customers for the new-ticket form (an htmx fragment)."""
    if not is_partial():
        return redirect(url_for("agent.new_ticket", **request.args))
    q = request.args.get("customer_q", "")
    chosen = _customer_id(request.args.get("customer_id"))
    form = AgentTicketForm(formdata=None, meta={"csrf": False})
    form.customer_id.data = chosen
    return render("agent/new_ticket.html", "customer_results", form=form,
                  results=search_customers(q, chosen), searched=bool(q.strip()))
