"""API keys (/admin/api-keys): the list, and (admins) creating and revoking keys. The key form
and its views.

Managers may look; only admins create or revoke, and every change is audited (never a secret: a
key is logged by name, scopes and ranges). A key's secret is shown once, in the answer to the form
that created it, and never stored (only its hash)."""
from __future__ import annotations

import ipaddress

from flask import abort, flash, make_response, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import audit, clock
from ..extensions import db
from ..htmx import render
from ..models import API_SCOPES, ApiKey, hash_api_key
from .blueprint import admin_only, bp


def _networks(form, field):
    for line in (field.data or "").splitlines():
        if line.strip():
            try:
                ipaddress.ip_network(line.strip(), strict=False)
            except ValueError:
                raise ValidationError(f"{line.strip()[:60]} is not an IP address or network (e.g. 10.0.0.0/8).")


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name the key after the tool that uses it."),
                                           Length(max=120)])
    scope_create = BooleanField("create: open tickets and add customer messages", default=True)
    scope_read = BooleanField("read: read tickets and list a customer's tickets", default=True)
    ip_ranges = TextAreaField("Allowed IP ranges (optional)", validators=[Optional(), Length(max=2000), _networks])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not (self.scope_create.data or self.scope_read.data):
            self.scope_create.errors = [*self.scope_create.errors, "Give the key at least one scope."]
            return False
        return ok


def _keys_page(form, status=200, secret=None, created=None):
    keys = db.session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc()))
    response = make_response(render("admin/api_keys.html", form=form, keys=list(keys), secret=secret,
                                    created=created, status=status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/api-keys", methods=["GET", "POST"])
def api_keys():
    """API keys: the list, and (admins) a form to create one; its secret is shown once."""
    form = ApiKeyForm(formdata=None) if request.method == "GET" else ApiKeyForm()
    if request.method == "GET":
        return _keys_page(form)
    admin_only()
    if not form.validate():
        return _keys_page(form, 400)
    secret = ApiKey.generate()
    scopes = [s for s in API_SCOPES if getattr(form, f"scope_{s}").data]
    ranges = "\n".join(str(ipaddress.ip_network(line.strip(), strict=False))
                       for line in (form.ip_ranges.data or "").splitlines() if line.strip())
    key = ApiKey(name=" ".join(form.name.data.split()), key_hash=hash_api_key(secret), prefix=secret[:10],
                 scopes=",".join(scopes), ip_ranges=ranges, created_by=current_user._get_current_object())
    db.session.add(key)
    audit.record("api_key", key, [("created", "", key.name), ("scopes", "", ", ".join(scopes)),
                                  ("ip_ranges", "", ranges.replace("\n", ", ") or "any"),
                                  ("key", "", f"issued ({key.prefix}…)")])
    db.session.commit()
    return _keys_page(ApiKeyForm(formdata=None), 201, secret=secret, created=key)


@bp.post("/api-keys/<int:key_id>/revoke")
def revoke_api_key(key_id):
    """Revoke a key: every request with it is refused (401) from now on."""
    admin_only()
    if not FlaskForm().validate_on_submit():
        abort(400, "Your session expired. Reload the page and try again.")
    key = db.session.get(ApiKey, key_id)
    if key is None:
        abort(404, "There is no such API key.")
    if key.revoked_at is None:
        key.revoked_at = clock.utcnow()
        audit.record("api_key", key, [("state", "active", "revoked")])
        db.session.commit()
        flash(f"The key “{key.name}” is revoked; tools using it are refused from now on.", "success")
    return redirect(url_for("admin.api_keys"))
