"""Teams (/admin/teams): groups of agents that tickets can be assigned or escalated to. The team
form and the team Resource."""
from __future__ import annotations

from sqlalchemy import select
from wtforms import BooleanField

from ..extensions import db
from ..models import Agent, HelpTopic, SLAPlan, Team, Ticket
from ..web.fields import IdSelect
from .crud import Resource, register, row_count, uses
from .forms import AdminForm, IdMultiSelect, active_choices, name_field, none_choice


class TeamForm(AdminForm):
    model = Team
    sections = [("Team", ["name", "lead", "members", "active"])]
    help = {"members": "Only active agents are listed."}

    name = name_field()
    lead = IdSelect("Team lead", model=Agent)
    members = IdMultiSelect("Members", model=Agent)
    active = BooleanField("Active", default=True)

    def setup(self, obj=None):
        self.obj = obj
        self.lead.choices = none_choice("— no lead —") + active_choices(Agent, obj and obj.lead)
        self.members.choices = active_choices(Agent)
        if obj is not None:
            shown = {value for value, _ in self.members.choices}
            self.members.choices += [(a.id, f"{a.name} (inactive)") for a in obj.members if a.id not in shown]
        return self

    def validate_name(self, field):
        self._unique(Team.name, field.data, "Another team has this name.")

    def values(self):
        return {"name": self.name.data, "lead": self.lead.record, "members": self.members.records,
                "active": self.active.data}

    def load(self, obj):
        self.name.data, self.active.data = obj.name, obj.active
        self.lead.data = obj.lead_id or 0
        self.members.data = [a.id for a in obj.members]


def _team_usage(team: Team) -> list[str]:
    return uses(
        (row_count(select(Ticket.id).where(Ticket.team_id == team.id)), "ticket"),
        (row_count(select(HelpTopic.id).where(HelpTopic.assign_team_id == team.id)), "help topic"),
        (row_count(select(SLAPlan.id).where(SLAPlan.escalate_team_id == team.id)), "SLA plan"),
        (len(team.members), "member"),
    )


register(Resource(
    key="team", path="teams", label="team", plural="teams", model=Team, form=TeamForm,
    intro="Groups of agents that tickets can be assigned or escalated to.",
    rows=lambda: list(db.session.scalars(select(Team).order_by(Team.name))),
    columns=[
        ("Lead", lambda t: t.lead.name if t.lead else "—"),
        ("Members", lambda t: ", ".join(a.name for a in t.members) or "—"),
    ],
    usage=_team_usage,
))
