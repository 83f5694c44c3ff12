"""Help topics (/admin/topics): what customers choose on the form; each sets a new ticket's
department, priority, SLA plan and assignment. The topic form and the topic Resource."""
from __future__ import annotations

from sqlalchemy import select
from wtforms import BooleanField, IntegerField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from ..extensions import db
from ..models import Agent, Department, HelpTopic, Priority, SLAPlan, Team, Ticket
from ..web.fields import IdSelect
from .crud import Resource, register, row_count, uses
from .forms import AdminForm, active_choices, name_field, none_choice

ASSIGN_MODES = [
    ("", "None (a child topic uses its parent's)"),
    ("agent", "An agent"),
    ("team", "A team"),
    ("round_robin", "Round-robin among a team's active agents"),
]


class TopicForm(AdminForm):
    model = HelpTopic
    sections = [
        ("Topic", ["name", "parent", "public", "active", "sort", "instructions"]),
        ("Defaults for new tickets", ["department", "priority", "sla", "customer_sets_priority",
                                      "auto_acknowledge"]),
        ("Auto-assignment", ["assign_mode", "assign_agent", "assign_team"]),
    ]
    help = {
        "parent": "A child topic uses its parent's department, priority, SLA plan, instructions and "
                  "assignment wherever its own are not set.",
        "instructions": "Shown to customers on the form when they choose this topic.",
        "sort": "Topics are listed in this order on the customer form (then by name).",
        "assign_team": "For a team, or round-robin among its active members.",
    }

    name = name_field()
    parent = IdSelect("Parent topic", model=HelpTopic)
    public = BooleanField("Public: customers can choose it", default=True)
    active = BooleanField("Active", default=True)
    sort = IntegerField("Sort order", default=0, validators=[
        InputRequired("Give a sort order (0 comes first)."),
        NumberRange(min=0, max=9999, message="A number from 0 to 9999.")])
    instructions = TextAreaField("Instructions for customers", filters=[lambda v: v.strip() if v else v],
                                 validators=[Length(max=2000, message="At most %(max)d characters.")])
    department = IdSelect("Department", model=Department)
    priority = IdSelect("Priority", model=Priority)
    sla = IdSelect("SLA plan", model=SLAPlan)
    customer_sets_priority = BooleanField("Customers may choose the priority")
    auto_acknowledge = BooleanField("Acknowledge new tickets by mail", default=True)
    assign_mode = SelectField("Assign new tickets to", choices=lambda: ASSIGN_MODES)
    assign_agent = IdSelect("Agent", model=Agent)
    assign_team = IdSelect("Team", model=Team)

    def setup(self, obj=None):
        self.obj = obj
        others = db.session.scalars(select(HelpTopic).order_by(HelpTopic.sort, HelpTopic.name))
        self.parent.choices = none_choice("— none: a top-level topic —") + [
            (t.id, t.full_name) for t in others if obj is None or t.id != obj.id]
        self.department.choices = none_choice("— the parent's, or the first department —") + active_choices(
            Department, obj and obj.department)
        self.priority.choices = none_choice("— the parent's, or Normal —") + [
            (p.id, p.name) for p in db.session.scalars(select(Priority).order_by(Priority.urgency))]
        self.sla.choices = none_choice("— the parent's, or the department's —") + active_choices(
            SLAPlan, obj and obj.sla, SLAPlan.grace_hours)
        self.assign_agent.choices = none_choice() + active_choices(Agent, obj and obj.assign_agent)
        self.assign_team.choices = none_choice() + active_choices(Team, obj and obj.assign_team)
        return self

    def validate_name(self, field):
        self._unique(HelpTopic.name, field.data, "Another help topic has this name.")

    def validate_parent(self, field):
        parent = field.record
        if parent is None or self.obj is None:
            return
        if any(t.id == self.obj.id for t in parent.lineage()):
            raise ValidationError("A topic cannot be its own parent, nor a parent of one of its parents.")

    def validate_assign_agent(self, field):
        if self.assign_mode.data == "agent" and not field.data:
            raise ValidationError("Choose the agent who gets this topic's tickets.")

    def validate_assign_team(self, field):
        if self.assign_mode.data in ("team", "round_robin") and not field.data:
            raise ValidationError("Choose the team.")

    def values(self) -> dict:
        mode = self.assign_mode.data
        return {
            "name": self.name.data, "parent": self.parent.record, "public": self.public.data,
            "active": self.active.data, "sort": self.sort.data, "instructions": self.instructions.data or "",
            "department": self.department.record, "priority": self.priority.record, "sla": self.sla.record,
            "customer_sets_priority": self.customer_sets_priority.data,
            "auto_acknowledge": self.auto_acknowledge.data, "assign_mode": mode,
            "assign_agent": self.assign_agent.record if mode == "agent" else None,
            "assign_team": self.assign_team.record if mode in ("team", "round_robin") else None,
        }

    def load(self, obj):
        for name in ("name", "public", "active", "sort", "instructions", "customer_sets_priority",
                     "auto_acknowledge"):
            getattr(self, name).data = getattr(obj, name)
        self.parent.data = obj.parent_id or 0
        self.department.data = obj.department_id or 0
        self.priority.data = obj.priority_id or 0
        self.sla.data = obj.sla_id or 0
        self.assign_mode.data = obj.assign_mode or (
            "agent" if obj.assign_agent_id else "team" if obj.assign_team_id else "")
        self.assign_agent.data = obj.assign_agent_id or 0
        self.assign_team.data = obj.assign_team_id or 0


ASSIGN_TEXT = {"agent": "agent {agent}", "team": "team {team}", "round_robin": "round-robin in {team}"}


def _assignment(topic: HelpTopic) -> str:
    mode, agent, team, owner = topic.effective_assignment()
    if not mode:
        return "—"
    text = ASSIGN_TEXT[mode].format(agent=agent.name if agent else "?", team=team.name if team else "?")
    return text if owner is topic else f"{text} (from {owner.name})"


def _topic_usage(topic: HelpTopic) -> list[str]:
    return uses(
        (row_count(select(Ticket.id).where(Ticket.topic_id == topic.id)), "ticket"),
        (row_count(select(HelpTopic.id).where(HelpTopic.parent_id == topic.id)), "child topic"),
    )


register(Resource(
    key="topic", path="topics", label="help topic", plural="help topics", model=HelpTopic, form=TopicForm,
    intro="What customers choose on the form. A topic sets a new ticket's department, priority, SLA plan "
          "and assignment.",
    rows=lambda: sorted(db.session.scalars(select(HelpTopic)),
                        key=lambda t: ([(p.sort, p.name) for p in reversed(list(t.lineage()))])),
    columns=[
        ("Visible to", lambda t: "customers" if t.public else "agents only"),
        ("Department", lambda t: (t.effective_department or "first department").__str__()),
        ("Priority", lambda t: str(t.effective_priority or "Normal")),
        ("SLA plan", lambda t: t.effective_sla.name if t.effective_sla else "department's"),
        ("Assignment", _assignment),
    ],
    usage=_topic_usage,
))
