"""The command-line tools an operator runs: seed-demo, create-user, mail send / retry-failed."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from helpdesk import demo
from helpdesk.extensions import db
from helpdesk.models import Agent, Department, HelpTopic, OutboxMail, Priority
from support.net import free_port
from support.rows import count


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- seed-demo --------------------------------------------------------------------------------


def test_seed_demo_loads_the_desk_and_prints_the_logins(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for email, _, role, password, _ in demo.DEMO_AGENTS:
        assert email in result.output and password in result.output
    assert count(Agent) == len(demo.DEMO_AGENTS)
    assert count(Department) == 2
    assert count(Priority) == 4
    assert {t.name for t in db.session.scalars(select(HelpTopic))} == {
        "Business Critical Outage", "Password reset", "Billing question", "General inquiry",
    }


def test_seed_demo_if_empty_twice_loads_once(runner):
    first = runner.invoke(args=["seed-demo", "--if-empty"])
    assert first.exit_code == 0 and "Demo desk loaded" in first.output
    second = runner.invoke(args=["seed-demo", "--if-empty"])
    assert second.exit_code == 0, second.output
    assert "already has data" in second.output and "demo-admin-1" not in second.output
    assert count(Agent) == len(demo.DEMO_AGENTS)
    assert count(Department) == 2
    assert count(HelpTopic) == 4


# --- create-user ------------------------------------------------------------------------------


def test_create_user(runner):
    result = runner.invoke(args=["create-user", "--email", "Jo.Doe@Example.COM", "--name", " Jo Doe ",
                                 "--role", "manager", "--password", "a long secret"])
    assert result.exit_code == 0, result.output
    assert "Created manager Jo Doe" in result.output
    agent = db.session.scalar(select(Agent))
    assert (agent.email, agent.name, agent.role) == ("jo.doe@example.com", "Jo Doe", "manager")
    assert agent.check_password("a long secret") and not agent.check_password("wrong one")


def test_create_user_asks_for_the_password(runner):
    result = runner.invoke(args=["create-user", "--email", "sam@example.com", "--name", "Sam"],
                           input="s3cret-enough\ns3cret-enough\n")
    assert result.exit_code == 0, result.output
    agent = db.session.scalar(select(Agent))
    assert agent.role == "agent" and agent.check_password("s3cret-enough")


def test_create_user_refuses_a_duplicate_email(runner):
    args = ["create-user", "--email", "sam@example.com", "--name", "Sam", "--password", "password-1"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=["create-user", "--email", "SAM@example.com", "--name", "Other Sam",
                                "--password", "password-2"])
    assert again.exit_code != 0
    assert "exists already" in again.output
    assert count(Agent) == 1


@pytest.mark.parametrize("email", ["not-an-email", "sam@", "sam@@example.com"])
def test_create_user_refuses_a_bad_email(runner, email):
    result = runner.invoke(args=["create-user", "--email", email, "--name", "Sam", "--password", "password-1"])
    assert result.exit_code == 2
    assert "--email" in result.output
    assert count(Agent) == 0


def test_create_user_refuses_a_short_password(runner):
    result = runner.invoke(args=["create-user", "--email", "sam@example.com", "--name", "Sam",
                                 "--password", "short"])
    assert result.exit_code == 2
    assert "8 to 128 characters" in result.output
    assert count(Agent) == 0


def test_create_user_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["create-user", "--email", "sam@example.com", "--name", "Sam",
                                 "--role", "root", "--password", "password-1"])
    assert result.exit_code == 2
    assert count(Agent) == 0


# --- mail -------------------------------------------------------------------------------------


def test_mail_send_delivers_the_outbox(runner, make_ticket, inbox):
    make_ticket(email="ken@example.net", subject="Screen is blank")
    queued = count(OutboxMail)
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert f"Sent {queued}, not sent 0; 0 waiting." in result.output
    assert any("Screen is blank" in s for s in inbox.subjects("ken@example.net"))
    assert len(inbox.messages) == queued
    again = runner.invoke(args=["mail", "send"])
    assert "Sent 0, not sent 0; 0 waiting." in again.output
    assert len(inbox.messages) == queued


def test_mail_send_with_smtp_down_keeps_the_mail(app, runner, make_ticket, inbox):
    make_ticket(email="ken@example.net")
    queued = count(OutboxMail)
    app.extensions["mail"].port = free_port()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert f"Sent 0, not sent {queued}; {queued} waiting." in result.output
    assert inbox.messages == []


def test_mail_retry_failed(runner, make_ticket):
    make_ticket()
    db.session.execute(update(OutboxMail).values(status="failed", attempts=12))
    db.session.commit()
    queued = count(OutboxMail)
    result = runner.invoke(args=["mail", "retry-failed"])
    assert result.exit_code == 0
    assert f"{queued} mails queued again." in result.output
    db.session.expire_all()
    assert {(m.status, m.attempts) for m in db.session.scalars(select(OutboxMail))} == {("pending", 0)}


def test_create_user_refuses_an_empty_name(runner):
    result = runner.invoke(args=["create-user", "--email", "sam@example.com", "--name", "   ",
                                 "--password", "password-1"])
    assert result.exit_code == 2
    assert "--name" in result.output
    assert count(Agent) == 0
