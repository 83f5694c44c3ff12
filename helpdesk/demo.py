"""The default priorities every desk has, and the demo desk loaded by `flask seed-demo`."""
import json

from sqlalchemy import select

from .extensions import db
from .models import Agent, CannedResponse, Customer, Department, HelpTopic, Macro, Priority, SLAPlan, Team, Ticket

DEFAULT_PRIORITIES = [
    # key, name, colour, urgency (higher is more urgent)
    ("low", "Low", "#64748b", 1),
    ("normal", "Normal", "#2563eb", 2),
    ("high", "High", "#d97706", 3),
    ("emergency", "Emergency", "#dc2626", 4),
]

# email, name, role, password (demo only), (departments, teams)
DEMO_AGENTS = [
    ("admin@example.com", "Ada Admin", "admin", "demo-admin-1", (["Support", "IT Operations"], [])),
    ("manager@example.com", "Maya Manager", "manager", "demo-manager-1", (["Support", "IT Operations"], [])),
    ("tech@example.com", "Tom Technician", "agent", "demo-tech-1", (["Support"], ["Senior Support"])),
    ("sysadmin@example.com", "Sam Sysadmin", "agent", "demo-sysadmin-1", (["IT Operations"], ["SysAdmins/Developers"])),
    ("vendor@example.com", "Vic Vendor-Liaison", "agent", "demo-vendor-1", (["Support"], ["Vendor Support"])),
]


def ensure_priorities() -> None:
    """The four priorities a desk always has."""
    existing = set(db.session.scalars(select(Priority.key)))
    for key, name, colour, urgency in DEFAULT_PRIORITIES:
        if key not in existing:
            db.session.add(Priority(key=key, name=name, colour=colour, urgency=urgency))
    db.session.flush()


def desk_has_data() -> bool:
    """Has anyone set this desk up or used it? (Priorities alone do not count: every desk has them.)"""
    return any(db.session.scalar(select(model.id).limit(1)) is not None
               for model in (Agent, Department, Team, HelpTopic, SLAPlan, Customer, Ticket))


def seed() -> None:
    """Create the demo desk. Meant for an empty database."""
    ensure_priorities()
    prio = {p.key: p for p in db.session.scalars(select(Priority))}
    sla = {
        "Emergency": SLAPlan(name="Emergency", grace_hours=2),
        "Priority": SLAPlan(name="Priority", grace_hours=8, first_response_hours=1),
        # 48 business hours, Monday to Friday 09:00-17:00 in the desk's time zone.
        "Standard": SLAPlan(name="Standard", grace_hours=48, schedule="business", business_days="0,1,2,3,4",
                            opens_at="09:00", closes_at="17:00", timezone=""),
    }
    db.session.add_all(sla.values())
    depts = {
        "Support": Department(name="Support", email="support@example.com", sla=sla["Standard"]),
        "IT Operations": Department(name="IT Operations", email="itops@example.com", sla=sla["Priority"]),
    }
    teams = {name: Team(name=name) for name in ("Senior Support", "SysAdmins/Developers", "Vendor Support")}
    db.session.add_all([*depts.values(), *teams.values()])
    agents = {}
    for email, name, role, password, (dept_names, team_names) in DEMO_AGENTS:
        agent = Agent(email=email, name=name, role=role)
        agent.set_password(password)
        agent.departments = [depts[d] for d in dept_names]
        agent.teams = [teams[t] for t in team_names]
        agents[email] = agent
        db.session.add(agent)
    db.session.flush()
    depts["Support"].manager = agents["manager@example.com"]
    depts["IT Operations"].manager = agents["manager@example.com"]
    teams["Senior Support"].lead = agents["tech@example.com"]
    teams["SysAdmins/Developers"].lead = agents["sysadmin@example.com"]
    teams["Vendor Support"].lead = agents["vendor@example.com"]
    topics = [
        HelpTopic(
            name="Business Critical Outage", department=depts["Support"], priority=prio["high"],
            sla=sla["Emergency"], sort=1,
            instructions="Tell us which service is down, since when, and how many people are affected. "
                         "We answer outages around the clock.",
        ),
        HelpTopic(
            name="Password reset", department=depts["IT Operations"], priority=prio["normal"],
            sla=sla["Priority"], sort=2,
            instructions="Give the user name of the account. Never send us your password.",
        ),
        HelpTopic(
            name="Billing question", department=depts["Support"], priority=prio["low"],
            sla=sla["Standard"], sort=3,
            instructions="Include the invoice number if your question is about an invoice.",
        ),
        HelpTopic(
            name="General inquiry", department=depts["Support"], priority=prio["normal"],
            sla=sla["Standard"], customer_sets_priority=True, sort=4,
            instructions="Ask us anything. Choose how urgent it is for you.",
        ),
    ]
    db.session.add_all(topics)
    db.session.commit()


# The demo desk's shared canned response and macros (title or name, text or steps).
DEMO_CANNED = {
    "Password reset": "Hello {customer_name},\n\nthe password of your account is reset: you will get a mail with a "
                      "link to choose a new one. The link works for one hour.\n\n{agent_name}, {desk_name}",
}
DEMO_MACROS = [
    ("Password reset done", "Tell the customer, and resolve the ticket.",
     [{"do": "reply", "canned": "Password reset"},
      {"do": "resolve", "text": "Resolved: the password was reset. Reply to this mail if the link does not work."}]),
    ("Ask for the account name", "We need the user name before we can reset anything.",
     [{"do": "claim"},
      {"do": "request_info", "text": "Hello {customer_name},\n\nwhich user name does the account have? We never "
                                     "need your password.\n\n{agent_name}"}]),
]


def seed_macros() -> None:
    """The demo desk's desk-wide canned response and macros (after seed())."""
    responses = {title: CannedResponse(title=title, body=body) for title, body in DEMO_CANNED.items()}
    db.session.add_all(responses.values())
    db.session.flush()
    for name, description, steps in DEMO_MACROS:
        steps = [{**s, "canned": responses[s["canned"]].id} if "canned" in s else s for s in steps]
        db.session.add(Macro(name=name, description=description, actions=json.dumps(steps)))
    db.session.commit()
