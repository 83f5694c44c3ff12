"""The words the demo's stories are written in: a story (a customer's first message) and its
steps (what agents, the customer and the people on copy did next), each step one lifecycle call.

Agents are named by the demo desk's first names: ada (admin), maya (queue manager), tom, sam, vic.
"""
from __future__ import annotations

from dataclasses import dataclass

AGENTS = {
    "ada": "admin@example.com",
    "maya": "manager@example.com",
    "tom": "tech@example.com",
    "sam": "sysadmin@example.com",
    "vic": "vendor@example.com",
}


@dataclass(frozen=True)
class Step:
    when: str  # see when.py: "+40m", "+2h", "+1d 09:30"
    action: str
    who: str | None = None  # an agent (AGENTS); None: the customer, or whoever is on copy
    text: str = ""
    target: str | None = None  # an agent, a team's name or a priority's key


@dataclass(frozen=True)
class Story:
    start: str  # see when.py: "9d 10:20" or "35m ago"
    customer: tuple[str, str]  # name, address
    topic: str
    subject: str
    body: str
    source: str = "web"
    priority: str | None = None  # the customer's choice where the topic lets them, or the agent's on the phone
    taken_by: str | None = None  # the agent who wrote down a phone call
    copied: tuple[tuple[str, str], ...] = ()  # on copy of the customer's first mail
    steps: tuple[Step, ...] = ()


def claim(when, who):
    return Step(when, "claim", who)


def assign(when, who, to):
    return Step(when, "assign", who, target=to)


def priority(when, who, key):
    return Step(when, "priority", who, target=key)


def tag(when, who, *names):
    """Tags on the ticket (created as the demo desk's first use of them)."""
    return Step(when, "tag", who, ", ".join(names))


def reply(when, who, text):
    return Step(when, "reply", who, text)


def note(when, who, text):
    return Step(when, "note", who, text)


def ask(when, who, text):
    """A question to the customer: the ticket waits on them."""
    return Step(when, "ask", who, text)


def customer(when, text):
    """The customer writes (a pending ticket opens again; a resolved one is reopened)."""
    return Step(when, "customer", None, text)


def copied(when, text):
    """The person on copy writes."""
    return Step(when, "copied", None, text)


def escalate(when, who, team, text):
    return Step(when, "escalate", who, text, target=team)


def resolve(when, who, text):
    return Step(when, "resolve", who, text)


def close(when, who, text=""):
    return Step(when, "close", who, text)


def confirm(when):
    """The customer confirms the resolution: the ticket closes."""
    return Step(when, "confirm")


def reopen(when, who, text):
    return Step(when, "reopen", who, text)


# The demo desk's names the stories use (helpdesk/demo.py makes them).
OUTAGE, PASSWORD, BILLING, GENERAL = "Business Critical Outage", "Password reset", "Billing question", "General inquiry"
DEVELOPERS, SENIOR, VENDOR = "SysAdmins/Developers", "Senior Support", "Vendor Support"
