"""Outgoing webhooks (/admin/webhooks): the list, a webhook's form and its delivery log, and
(admins) creating, changing, deleting one and retrying a failed delivery. The form and its views.

Managers may look; only admins change anything, and every change is audited (a secret only as
"generated", never its value). A webhook's secret is shown once, in the answer to the form that
made it; it is stored encrypted, since the sender needs it to sign every body. The URL must
reach a public address (or one HELPDESK_WEBHOOK_ALLOW allows): checked here and again at each
attempt."""
from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import delete, func, select
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from .. import audit, webhooks
from ..extensions import db
from ..htmx import render
from ..models import DELIVERY_STATES, WEBHOOK_EVENTS, Webhook, WebhookDelivery
from ..webhooks.addresses import URL_MAX
from .blueprint import admin_only, bp
from .forms import MultiCheckbox, name_field

LOG_SIZE = 50


class WebhookForm(FlaskForm):
    name = name_field()
    url = StringField("URL", filters=[lambda v: v.strip() if isinstance(v, str) else v], validators=[
        DataRequired("Enter the URL to send the events to."),
        Length(max=URL_MAX, message="At most %(max)d characters.")])
    events = MultiCheckbox("Events", choices=lambda: list(WEBHOOK_EVENTS.items()))
    active = BooleanField("Send events to this webhook", default=True)
    new_secret = BooleanField("Make a new secret (the current one stops working at once)")

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not self.events.errors and not self.events.data:
            self.events.errors = [*self.events.errors, "Choose at least one event."]
            ok = False
        if not self.url.errors and self.url.data:
            try:
                webhooks.check_url(self.url.data, current_app.config)
            except webhooks.Refused as exc:
                self.url.errors = [*self.url.errors, str(exc)]
                ok = False
        return ok


def _hook(webhook_id: int) -> Webhook:
    hook = db.session.get(Webhook, webhook_id)
    if hook is None:
        abort(404, "There is no such webhook.")
    return hook


def _page(form, hook=None, status=200, secret=None):
    log, counts = [], {}
    if hook is not None and hook.id is not None:
        log = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
                                 .order_by(WebhookDelivery.id.desc()).limit(LOG_SIZE)).all()
        counts = dict(db.session.execute(select(WebhookDelivery.status, func.count(WebhookDelivery.id))
                                         .where(WebhookDelivery.webhook_id == hook.id)
                                         .group_by(WebhookDelivery.status)).all())
    response = make_response(render("admin/webhook.html", form=form, hook=hook, status=status, secret=secret,
                                    log=log, counts=counts, states=DELIVERY_STATES, event_names=WEBHOOK_EVENTS))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/webhooks")
def webhooks_list():
    """Every webhook, with how many of its deliveries wait or failed."""
    hooks = db.session.scalars(select(Webhook).order_by(Webhook.name)).all()
    counts = {}
    for hook_id, state, count in db.session.execute(
            select(WebhookDelivery.webhook_id, WebhookDelivery.status, func.count(WebhookDelivery.id))
            .where(WebhookDelivery.status.in_(("waiting", "sending", "failed")))
            .group_by(WebhookDelivery.webhook_id, WebhookDelivery.status)):
        counts.setdefault(hook_id, {})[state] = count
    return render("admin/webhooks.html", hooks=hooks, counts=counts, event_names=WEBHOOK_EVENTS)


@bp.route("/webhooks/new", methods=["GET", "POST"])
def webhook_new():
    """A form for a new webhook; its secret is shown once, after saving."""
    if request.method == "GET":
        return _page(WebhookForm(formdata=None))
    admin_only()
    return _save(Webhook(), WebhookForm())


@bp.route("/webhooks/<int:webhook_id>", methods=["GET", "POST"])
def webhook_edit(webhook_id):
    """A webhook's form and its latest deliveries."""
    hook = _hook(webhook_id)
    if request.method == "GET":
        form = WebhookForm(formdata=None, obj=hook)
        form.events.data = hook.event_list
        return _page(form, hook)
    admin_only()
    return _save(hook, WebhookForm(), editing=True)


def _save(hook: Webhook, form: WebhookForm, editing=False):
    shown = hook if editing else None
    if not form.validate():
        return _page(form, shown, 400)
    clash = db.session.scalar(select(Webhook.id).where(func.lower(Webhook.name) == form.name.data.lower(),
                                                       Webhook.id != (hook.id or 0)))
    if clash is not None:
        form.name.errors = ["Another webhook has this name."]
        return _page(form, shown, 400)
    created = hook.id is None
    events = ",".join(key for key in WEBHOOK_EVENTS if key in form.events.data)
    if created:
        db.session.add(hook)
    changes = audit.apply(hook, {"name": form.name.data, "url": form.url.data, "events": events,
                                 "active": form.active.data})
    secret = None
    if created or form.new_secret.data:
        secret = Webhook.generate_secret()
        hook.secret = secret
        changes.append(("secret", "", "generated"))  # never the secret itself
    if created:
        changes.insert(0, ("created", "", hook.name))
    audit.record("webhook", hook, changes)
    db.session.commit()
    if secret:
        form = WebhookForm(formdata=None, obj=hook)
        form.events.data = hook.event_list
        return _page(form, hook, 201 if created else 200, secret=secret)
    flash(f"The webhook “{hook.name}” was saved." if changes else "Nothing was changed.",
          "success" if changes else "info")
    return redirect(url_for("admin.webhook_edit", webhook_id=hook.id))


@bp.post("/webhooks/<int:webhook_id>/delete")
def webhook_delete(webhook_id):
    """Delete a webhook and its delivery log; what waits is not sent."""
    hook = _hook(webhook_id)
    name = hook.name
    audit.record("webhook", hook, [("deleted", name, "")])
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))
    db.session.delete(hook)
    db.session.commit()
    flash(f"The webhook “{name}” was deleted.", "success")
    return redirect(url_for("admin.webhooks_list"))


@bp.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/retry")
def webhook_retry(webhook_id, delivery_id):
    """Give a failed delivery one more attempt, at the next round of the deliverer."""
    hook = _hook(webhook_id)
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.webhook_id != hook.id:
        abort(404, "There is no such delivery.")
    if not webhooks.retry(delivery):
        db.session.rollback()
        flash("Only a failed delivery can be retried; this one is not failed.", "info")
    else:
        audit.record("webhook", hook, [("delivery", f"{delivery.uid} failed", "waiting")])
        db.session.commit()
        flash("The delivery will be tried again within a few seconds.", "success")
    return redirect(url_for("admin.webhook_edit", webhook_id=hook.id))
