"""Departments (/admin/departments): tickets belong to one; its agents see them and its manager is
alerted. The department form and the department Resource."""
from __future__ import annotations

from sqlalchemy import select
from wtforms import BooleanField, EmailField
from wtforms.validators import Length

from ..extensions import db
from ..models import Agent, Department, HelpTopic, SLAPlan, Ticket, agent_departments
from ..web.fields import IdSelect
from .crud import Resource, register, row_count, uses
from .forms import AdminForm, active_choices, email_address, name_field, none_choice


class DepartmentForm(AdminForm):
    model = Department
    sections = [("Department", ["name", "email", "manager", "sla", "active"])]
    help = {"email": "Mail about this department's tickets is sent from this address.",
            "sla": "Used for tickets whose help topic sets no SLA plan."}

    name = name_field()
    email = EmailField("Outgoing mail address", filters=[lambda v: v.strip() if v else v],
                       validators=[Length(max=254), email_address])
    manager = IdSelect("Manager", model=Agent)
    sla = IdSelect("Default SLA plan", model=SLAPlan)
    active = BooleanField("Active", default=True)

    def setup(self, obj=None):
        self.obj = obj
        self.manager.choices = none_choice("— no manager —") + active_choices(Agent, obj and obj.manager)
        self.sla.choices = none_choice("— no SLA plan —") + active_choices(SLAPlan, obj and obj.sla,
                                                                           SLAPlan.grace_hours)
        return self

    def validate_name(self, field):
        self._unique(Department.name, field.data, "Another department has this name.")

    def values(self):
        return {"name": self.name.data, "email": self.email.data or None, "manager": self.manager.record,
                "sla": self.sla.record, "active": self.active.data}

    def load(self, obj):
        self.name.data, self.email.data, self.active.data = obj.name, obj.email, obj.active
        self.manager.data, self.sla.data = obj.manager_id or 0, obj.sla_id or 0


def _department_usage(dept: Department) -> list[str]:
    return uses(
        (row_count(select(Ticket.id).where(Ticket.department_id == dept.id)), "ticket"),
        (row_count(select(HelpTopic.id).where(HelpTopic.department_id == dept.id)), "help topic"),
        (row_count(select(agent_departments.c.agent_id).where(agent_departments.c.department_id == dept.id)),
         "agent"),
    )


register(Resource(
    key="department", path="departments", label="department", plural="departments", model=Department,
    form=DepartmentForm,
    intro="Tickets belong to a department; its agents see them and its manager is alerted.",
    rows=lambda: list(db.session.scalars(select(Department).order_by(Department.name))),
    columns=[
        ("Manager", lambda d: d.manager.name if d.manager else "—"),
        ("Default SLA", lambda d: d.sla.name if d.sla else "—"),
        ("Mail from", lambda d: d.email or "—"),
        ("Agents", lambda d: str(len(d.agents))),
    ],
    usage=_department_usage,
))
