"""Command-line tools: `flask --app app seed-demo | create-user | mail send | render | retry-failed | pipe |
fetch | automations run | tickets auto-close | sla check | webhooks deliver | reports weekly`."""
from __future__ import annotations

import sys
import threading

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from . import demo_tickets, jobs, mailin, settings, tickets, webhooks
from .automations import timed
from .demo import DEMO_AGENTS, DEMO_MACROS, desk_has_data, seed, seed_macros
from .demo_tickets import rules as demo_rules
from .extensions import db
from .mail import outbox
from .mailin import imap
from .models import ROLES, STATUS_LABELS, STATUSES, Agent, Mailbox, report_cell
from .reports import cells, weekly

mail_cli = AppGroup("mail", help="Deliver the mail outbox; take in mail (pipe, IMAP fetch).")


def _loop(job: str, interval: float, doing: str, report=None) -> None:
    """Run a job of helpdesk.jobs every `interval` seconds until Ctrl+C, saying what it does."""
    click.echo(f"{doing} every {interval:g} s; Ctrl+C stops.")
    try:
        jobs.run_loop(current_app._get_current_object(), job, interval, threading.Event(), report)
    except KeyboardInterrupt:
        pass


@mail_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep running, sending what comes in.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds with --loop.")
def mail_send(loop: bool, interval: float):
    """Send the mails that are due. Several senders may run at once."""
    if loop:
        _loop("mail", interval, "Sending the outbox")
        return
    total_sent, total_failed = outbox.send_due()
    count, oldest = outbox.backlog()
    click.echo(f"Sent {total_sent}, not sent {total_failed}; {count} waiting.")


@mail_cli.command("render")
def mail_render():
    """Render the queued mails that wait unrendered (they are otherwise rendered as they are sent)."""
    done, broken = outbox.render_waiting()
    click.echo(f"{done} mails rendered; {broken} cannot be (their ticket is gone): they fail when sent.")


@mail_cli.command("retry-failed")
def mail_retry_failed():
    """Queue again the mails that were given up on after repeated failures."""
    click.echo(f"{outbox.retry_failed()} mails queued again.")


@mail_cli.command("catch")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True)
@click.option("--maildir", default=None, help="Where to keep the mails (default: instance/mail).")
def mail_catch(host: str, port: int, maildir: str | None):
    """A local SMTP server that keeps every mail it gets (for trying the desk out)."""
    from .mail.devserver import serve  # aiosmtpd: only this command runs it, never a web worker

    serve(host, port, maildir or current_app.config["HELPDESK_DEV_MAILBOX"] or
          f"{current_app.instance_path}/mail")


automations_cli = AppGroup("automations", help="Time rules (Admin > Automation rules).")


def _run_time_rules() -> None:
    done = timed.run_due()
    for item in done:
        click.echo(str(item))
    click.echo(f"{len(done)} ticket{'' if len(done) == 1 else 's'} acted on by time rules.")


@automations_cli.command("run")
@click.option("--loop", is_flag=True, help="Keep running, a round every --interval seconds.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between rounds with --loop.")
def automations_run(loop: bool, interval: float):
    """Run the time rules on the tickets whose wait is over. Several schedulers may run at once."""
    if loop:
        _loop("automations", interval, "Running the time rules", click.echo)
        return
    _run_time_rules()


tickets_cli = AppGroup("tickets", help="Ticket housekeeping (for cron).")


@tickets_cli.command("auto-close")
def tickets_auto_close():
    """Auto-close is the time rule "Close resolved tickets" now: run the time rules once."""
    click.echo("Auto-close is the time rule “Close resolved tickets” (Admin > Automation rules); "
               "`flask automations run --loop` runs it. Running the time rules now.")
    _run_time_rules()


sla_cli = AppGroup("sla", help="SLA clocks: overdue detection.")


@sla_cli.command("check")
@click.option("--loop", is_flag=True, help="Keep running, checking every --interval seconds.")
@click.option("--interval", default=None, type=float,
              help="Seconds between checks with --loop (default: HELPDESK_SLA_CHECK_SECONDS).")
def sla_check(loop: bool, interval: float | None):
    """Flag tickets that went overdue, alert their agents and apply their plans' escalation.
    Run it from cron every minute or so; several checks may run at once."""
    if loop:
        interval = interval or current_app.config["HELPDESK_SLA_CHECK_SECONDS"]
        _loop("overdue", interval, "Checking for overdue tickets", click.echo)
        return
    flagged = tickets.check_overdue()
    for item in flagged:
        click.echo(str(item))
    tickets.tally.tidy()
    cells.tidy(settings.zone())
    click.echo(f"{len(flagged)} ticket{'' if len(flagged) == 1 else 's'} newly overdue.")
@mail_cli.command("pipe")
@click.option("--mailbox", "mailbox_name", default=None,
              help="Take the department and help topic from this mailbox (by name).")
def mail_pipe(mailbox_name: str | None):
    """Take in one RFC 822 message from standard input (for the mail server's pipe)."""
    mailbox = None
    if mailbox_name:
        mailbox = db.session.scalar(select(Mailbox).where(Mailbox.name == mailbox_name))
        if mailbox is None:
            raise click.ClickException(f"There is no mailbox named {mailbox_name!r}.")
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise click.ClickException("No message on standard input.")
    try:
        outcome = mailin.take_in(raw, source=f"pipe{' ' + mailbox_name if mailbox_name else ''}", mailbox=mailbox)
    except Exception as exc:  # noqa: BLE001 - the database is away: let the mail server try again
        click.echo(f"Could not take the mail in now ({exc}); try again later.", err=True)
        sys.exit(75)  # EX_TEMPFAIL: the MTA keeps the mail and retries
    number = f" #{outcome.ticket.number}" if outcome.ticket is not None else ""
    click.echo(f"{outcome.outcome}{number}{': ' + outcome.note if outcome.note else ''}")


@mail_cli.command("fetch")
@click.option("--loop", is_flag=True, help="Keep running, fetching every --interval seconds.")
@click.option("--interval", default=60.0, show_default=True, help="Seconds between rounds with --loop.")
def mail_fetch(loop: bool, interval: float):
    """Fetch the IMAP mailboxes set up in the admin area. Several fetchers may run at once."""
    if loop:
        _loop("fetch", interval, "Fetching mail")
        return
    rounds = imap.fetch_all()
    if not rounds:
        click.echo("No active mailboxes; add one in the admin area (Mailboxes).")
    for r in rounds:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(r.outcomes.items())) or "nothing new"
        click.echo(f"{r.mailbox}: {r.error or counts}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) if the desk already has data.")
def seed_demo(if_empty: bool):
    """Load the demo desk into an empty database: departments, teams, topics, SLA plans, agents, and
    three weeks of tickets worked by them. No mail is sent for the demo tickets."""
    if desk_has_data():
        if if_empty:
            click.echo("The desk already has data; demo data not loaded.")
            return
        raise click.ClickException("The desk already has data (agents, departments or tickets); "
                                   "the demo desk is only loaded into an empty one.")
    planned = demo_tickets.plan()  # a script error stops here, before anything is written
    seed()
    timed.ensure_system_rules()  # on a database the migrations made, there already
    seed_macros()
    db.session.commit()
    counts = demo_tickets.load(planned)
    demo_rules.add()  # after the past: the rules acted on none of it
    total = sum(n for status, n in counts.items() if status in STATUSES)
    statuses = ", ".join(f"{counts.get(s, 0)} {STATUS_LABELS[s].lower()}" for s in STATUSES)
    click.echo(f"Demo desk loaded: 2 departments, 3 teams, 4 help topics, 3 SLA plans, {len(DEMO_AGENTS)} agents, "
               f"{len(DEMO_MACROS)} macros and {total} tickets of the last three weeks ({statuses}; "
               f"{counts['overdue']} overdue).")
    click.echo("No mail was sent or queued for the demo tickets: their customers are made up.")
    click.echo("Sign in at /login (demo accounts, change them for real use):")
    for email, name, role, password, _ in DEMO_AGENTS:
        click.echo(f"  {role:<8} {email:<28} {password}   ({name})")


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True)
@click.password_option(help="Asked for when not given.")
def create_user(email: str, name: str, role: str, password: str):
    """Create an agent, manager or admin."""
    from email_validator import EmailNotValidError, validate_email

    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc), param_hint="--email")
    name = " ".join(name.split())
    if not 1 <= len(name) <= 120:
        raise click.BadParameter("Give a name of 1 to 120 characters.", param_hint="--name")
    if db.session.scalar(select(Agent).where(func.lower(Agent.email) == email)):
        raise click.ClickException(f"An agent with the email {email} exists already.")
    agent = Agent(email=email, name=name, role=role)
    try:
        agent.set_password(password)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="password")
    db.session.add(agent)
    db.session.commit()
    click.echo(f"Created {role} {name} <{email}>.")


webhooks_cli = AppGroup("webhooks", help="Deliver outgoing webhooks.")


@webhooks_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running, delivering what comes in.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds with --loop.")
def webhooks_deliver(loop: bool, interval: float):
    """Deliver the webhook events that are due. Several deliverers may run at once."""
    if loop:
        _loop("webhooks", interval, "Delivering webhooks")
        return
    delivered, failed = webhooks.deliver_due()
    click.echo(f"Delivered {delivered}, not delivered {failed}.")


reports_cli = AppGroup("reports", help="Reports: the managers' weekly summary mail, the dashboard's cells.")


@reports_cli.command("rebuild")
def reports_rebuild():
    """Count the dashboard's cells afresh from the tickets, in the desk's time zone. The overdue
    check does it by itself when the time zone changed outside the settings page."""
    zone = settings.zone()
    report_cell.rebuild(zone)
    db.session.commit()
    click.echo(f"Report cells counted afresh in {zone.key}.")


@reports_cli.command("weekly")
@click.option("--loop", is_flag=True, help="Keep running, a round every --interval seconds.")
@click.option("--interval", default=weekly.INTERVAL, show_default=True, help="Seconds between rounds with --loop.")
def reports_weekly(loop: bool, interval: float):
    """Queue last week's summary for each manager and admin who asked for it, once it is due
    (Monday from 07:00, the desk's time). Each is mailed once a week however often this runs,
    and several may run at once."""
    if loop:
        _loop("weekly", interval, "Mailing the weekly summaries as they fall due, looking", click.echo)
        return
    mailed = weekly.send_due()
    for address in mailed:
        click.echo(f"weekly summary queued for {address}")
    click.echo(f"{len(mailed)} weekly summar{'y' if len(mailed) == 1 else 'ies'} queued.")


def register(app):
    app.cli.add_command(mail_cli)
    app.cli.add_command(automations_cli)
    app.cli.add_command(tickets_cli)
    app.cli.add_command(sla_cli)
    app.cli.add_command(webhooks_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
