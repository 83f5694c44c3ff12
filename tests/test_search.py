"""The ticket search (helpdesk.tickets.search) as an agent sees it in the queue: what it finds,
in which order, that no query text breaks it, that edits are found at once, and that it reads
the search index (FTS5 on SQLite, trigram GIN indexes on PostgreSQL), not the whole table."""
import re

import flask_migrate
import pytest
from sqlalchemy import insert, select, text

from helpdesk import create_app
from helpdesk.clock import utcnow
from helpdesk.extensions import db
from helpdesk.mail import outbox
from helpdesk.models import Customer, Ticket
from helpdesk.tickets import queues, search
from test_queues import numbers


def found(client, q: str, **args) -> list[str]:
    response = client.get("/agent/", query_string={"q": q, **args})
    assert response.status_code == 200, (q, response.status_code)
    return numbers(response.get_data(as_text=True))


@pytest.fixture
def three(make_ticket):
    return {
        "vpn": make_ticket(subject="VPN drops every hour", name="Alice Wong", email="alice.wong@contoso.example"),
        "invoice": make_ticket(subject="Invoice shows the wrong amount", name="Bob Stone",
                               email="bob@fabrikam.example"),
        "printer": make_ticket(subject="Printer on floor 1 is offline", name="Carla Diaz",
                               email="carla@northwind.example"),
    }


def test_finds_by_number_subject_word_customer_name_and_part_of_an_email(client, login, desk, three):
    login(desk.manager)
    vpn, invoice, printer = three["vpn"], three["invoice"], three["printer"]
    assert found(client, vpn.number) == [vpn.number]
    assert found(client, "#" + vpn.number) == [vpn.number]
    assert found(client, vpn.number[:4].lower()) == [vpn.number]  # part of a number, any case
    assert found(client, "offline") == [printer.number]  # a word of the subject
    assert found(client, "offl") == [printer.number]  # part of one
    assert found(client, "wrong amount") == [invoice.number]
    assert found(client, "amount wrong") == [invoice.number]  # every word, in any order
    assert found(client, "Carla") == [printer.number]  # the customer's name
    assert found(client, "bob stone") == [invoice.number]
    assert found(client, "fabrikam") == [invoice.number]  # part of the customer's email
    assert found(client, "alice.wong@conto") == [vpn.number]
    assert found(client, "vpn carla") == []  # all words in the ticket, or all in its customer
    assert found(client, "no such thing") == []


def test_short_words_are_found_too(client, login, desk, three):
    login(desk.manager)
    assert found(client, "1") == [three["printer"].number]  # one character (in no ticket number): the rows
    assert found(client, "floor 1") == [three["printer"].number]  # checked on the index's hits
    assert set(found(client, "o")) == {t.number for t in three.values()}


def test_best_matches_first_unless_a_sort_was_picked(client, login, desk, make_ticket):
    login(desk.manager)
    long = make_ticket(subject="Question about the invoices the printer on the third floor prints twice")
    exact = make_ticket(subject="Printer")
    other = make_ticket(subject="Scanner and printer")
    assert found(client, "printer") == [exact.number, other.number, long.number]
    # Ranked pages link to ranked pages: no sort sneaks into the links.
    html = client.get("/agent/", query_string={"q": "printer"}).get_data(as_text=True)
    assert "sort=" not in re.search(r'<section id="results"[^>]*hx-get="([^"]+)"', html).group(1)
    assert 'name="sort"' not in html
    # A sort the agent picked still applies.
    by_number = sorted([long.number, exact.number, other.number])
    assert found(client, "printer", sort="number", dir="asc") == by_number
    html = client.get("/agent/", query_string={"q": "printer", "sort": "number", "dir": "asc"}).get_data(as_text=True)
    assert 'name="sort" value="number"' in html  # and searching again keeps it


def test_a_ticket_found_more_often_in_its_subject_ranks_first(app, desk, make_ticket):
    once = make_ticket(subject="Backup failed on the file server last night")
    twice = make_ticket(subject="Backup failed again, second backup today")
    if db.engine.dialect.name != "sqlite":
        pytest.skip("trigram similarity counts a word once")
    page = queues.page(desk.manager, "open", queues.Params(q="backup"), utcnow())
    assert [t.number for t in page.tickets] == [twice.number, once.number]


HOSTILE = [
    '"', '""', '"printer', 'printer"', "*", "print*", "-", "-printer", "NEAR", "NEAR(printer offline)",
    "printer NEAR offline", "(", ")", "(printer", "AND", "OR", "NOT", "printer AND", "OR printer", "%", "_",
    "\\", "\\\\", "^printer", "subject:printer", "number:1", "{number subject}:x", "+",
    "'", "';--", "%_%", "\\%", "💥", "ß", "a" * 100, '"*"', "''", "\t", "# #",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_no_query_text_breaks_the_search(client, login, desk, three, q):
    login(desk.manager)
    response = client.get("/agent/", query_string={"q": q})
    assert response.status_code == 200
    assert client.get("/agent/queue/closed", query_string={"q": q, "sort": "due"}).status_code == 200


def test_a_nul_in_the_query_is_refused_before_any_search(client, login, desk):
    login(desk.manager)
    assert client.get("/agent/", query_string={"q": "a\x00b"}).status_code == 400  # as in any parameter


def test_hostile_text_is_looked_for_as_it_is(client, login, desk, make_ticket):
    odd = make_ticket(subject='Error "NEAR(x)" AND -foo* in 50%_done\\path')
    make_ticket(subject="Nothing to see")
    login(desk.manager)
    for q in ('"NEAR(x)"', "AND -foo*", "50%_done", "done\\path", "NEAR(x", "r \"N"):
        assert found(client, q) == [odd.number], q


def test_a_changed_subject_or_customer_is_found_by_the_new_text_only(client, login, desk, three):
    login(desk.manager)
    vpn = three["vpn"]
    vpn.subject = "Wireless keeps disconnecting"
    vpn.customer.name = "Alicia Wong-Smith"
    vpn.customer.email = "alicia@tailspin.example"
    db.session.commit()
    assert found(client, "wireless") == [vpn.number]
    assert found(client, "VPN drops") == []
    assert found(client, "alicia") == [vpn.number] and found(client, "tailspin") == [vpn.number]
    assert found(client, "contoso") == [] and found(client, "Alice Wong") == []
    # A ticket given to another customer follows it.
    invoice = three["invoice"]
    invoice.customer = vpn.customer
    db.session.commit()
    assert set(found(client, "tailspin")) == {vpn.number, invoice.number}
    assert found(client, "fabrikam") == []
    # A deleted ticket is gone from the index.
    db.session.execute(text("DELETE FROM event WHERE ticket_id = :id"), {"id": three["printer"].id})
    db.session.execute(text("DELETE FROM thread_entry WHERE ticket_id = :id"), {"id": three["printer"].id})
    db.session.execute(text("DELETE FROM ticket WHERE id = :id"), {"id": three["printer"].id})
    db.session.commit()
    assert found(client, "printer") == []


def test_search_is_limited_to_what_the_agent_sees(client, login, desk, make_ticket):
    support = make_ticket(subject="Shared printer")
    it = make_ticket(topic="Password reset", subject="Shared printer", name="Shared Name")
    login(desk.sysadmin)
    assert found(client, "shared") == [it.number]
    assert found(client, support.number) == []


def test_the_customer_lookup_of_a_new_ticket_uses_the_same_search(client, login, desk, three):
    login(desk.manager)
    html = client.get("/agent/customers", query_string={"customer_q": "northwind"},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Carla Diaz" in html and "Bob Stone" not in html
    html = client.get("/agent/customers", query_string={"customer_q": 'st"one'},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Bob Stone" not in html


# --- the index is read, not the tables ---------------------------------------------------------------


def _plan(statement) -> str:
    conn = db.session.connection()
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
        return "\n".join(row[-1] for row in rows)
    # Tables of a few thousand rows are read whole (or along their primary key) by choice
    # otherwise; priced out, a plan without the search index would cost more than any with one.
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
    return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}").all())


SEARCHED_TICKETS, SEARCHED_CUSTOMERS = 3000, 1500


@pytest.fixture
def searched_desk(desk, three):
    """A desk of a few thousand tickets from many customers, with fresh planner statistics of
    its own: PostgreSQL picks a plan by them, so the plan must not depend on what earlier tests
    (or autovacuum, at a time of its choosing) left behind for tables of three rows."""
    topic = three["vpn"].topic_id
    department = three["vpn"].department_id
    priority = three["vpn"].priority_id
    now = utcnow()
    customers = db.session.execute(insert(Customer).returning(Customer.id), [
        {"email": f"user{i}@company{i % 97}.example", "name": f"Person {i}", "created_at": now}
        for i in range(SEARCHED_CUSTOMERS)
    ]).scalars().all()
    db.session.execute(insert(Ticket), [
        {"number": f"S{i:06d}", "subject": f"Request {i} about account {i % 311}", "status": "open",
         "priority_id": priority, "urgency": 2, "topic_id": topic, "department_id": department,
         "customer_id": customers[i % len(customers)], "is_overdue": False,
         "created_at": now, "updated_at": now}
        for i in range(SEARCHED_TICKETS)
    ])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE ticket, customer")
    return three


def test_the_search_reads_the_index(app, desk, searched_desk):
    for q in ("printer", "carla@north", "printer 1"):
        params = queues.Params(q=q)
        statement = queues.listing(desk.manager, "open", params, utcnow(), Ticket.id).limit(25)
        plan = _plan(statement)
        if db.engine.dialect.name == "sqlite":
            assert "SCAN ticket_fts VIRTUAL TABLE" in plan and "SCAN customer_fts VIRTUAL TABLE" in plan, plan
            assert not re.search(r"SCAN (search_)?(ticket|customer)\b(?! VIRTUAL)(?!_fts)", plan), plan
        else:
            assert "ix_ticket_subject_trgm" in plan and "ix_customer_email_trgm" in plan, plan
            assert not re.search(r"Seq Scan on (ticket|customer)\b", plan), plan
        db.session.rollback()


BEFORE_INDEX = "20261207_ticket_tally"


def test_a_migrated_desk_keeps_its_index_current(tmp_path):
    """The migration's index and triggers (not only create_all's) find new and changed rows,
    and the ones that were there before it (its backfill)."""
    from helpdesk import demo, tickets

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}",
                      "HELPDESK_UPLOAD_DIR": str(tmp_path / "uploads")})
    with app.app_context():
        # The demo desk as today's models write it, then the schema taken back to before the index.
        flask_migrate.upgrade()
        demo.seed()
        db.session.remove()
        flask_migrate.downgrade(revision=BEFORE_INDEX)
        topic = demo_topic()
        # Written as that schema has it (today's models have columns later migrations add).
        now = utcnow()
        customer_id = db.session.execute(text(
            "INSERT INTO customer (email, name, created_at) VALUES ('early@before.example', 'Early Bird', :now) "
            "RETURNING id"), {"now": now}).scalar()
        db.session.execute(text(
            "INSERT INTO ticket (number, subject, status, priority_id, urgency, topic_id, department_id, source, "
            "customer_id, created_at, updated_at, is_overdue, is_answered, access_nonce, version) "
            "VALUES ('EARLY1', 'Before the index', 'new', :priority, 2, :topic, :department, 'web', :customer, "
            ":now, :now, false, false, '0123456789abcdef', 1)"),
            {"priority": db.session.execute(text("SELECT id FROM priority WHERE key = 'normal'")).scalar(),
             "topic": topic.id,
             "department": topic.department_id or db.session.execute(text("SELECT min(id) FROM department")).scalar(),
             "customer": customer_id, "now": now})
        db.session.commit()
        before_number = "EARLY1"
        db.session.remove()
        flask_migrate.upgrade()
        admin = db.session.scalar(demo_agent())
        after = tickets.open_ticket(name="Late Comer", email="late@after.example", subject="After the index",
                                    body="x", topic=demo_topic())
        db.session.commit()

        def search(q):
            return [t.number for t in queues.page(admin, "open", queues.Params(q=q), utcnow()).tickets]

        assert search("before the") == [before_number] and search("early@") == [before_number]
        assert search("after the") == [after.number] and search("late comer") == [after.number]
        after.subject = "Renamed"
        db.session.commit()
        assert search("after the") == [] and search("renamed") == [after.number]
        outbox.render_waiting()  # the outbox's own migration goes down only with every mail rendered
        flask_migrate.downgrade(revision=BEFORE_INDEX)
        names = {r[0] for r in db.session.execute(text("SELECT name FROM sqlite_master"))}
        assert not {n for n in names if "_fts" in n}, names
        db.session.remove()
        db.engine.dispose()


def demo_topic():
    from helpdesk.models import HelpTopic

    return db.session.scalar(select(HelpTopic).where(HelpTopic.name == "General inquiry"))


def demo_agent():
    from helpdesk.models import Agent

    return select(Agent).where(Agent.email == "admin@example.com")


def test_customer_condition_needs_a_word(app):
    from helpdesk.tickets import search

    assert search.customer_condition("  \x00 ") is None and search.match("\t") is None
    assert search.words("#AB12 ab12 #  x") == ["AB12", "#", "x"]
    assert db.session.scalar(select(Customer.id).where(search.customer_condition("x"))) is None


def test_a_word_in_very_many_rows_is_ranked_without_bm25(client, login, desk, make_ticket, monkeypatch):
    """bm25 would count every row holding such a word first; the share of the field the
    words make up ranks them instead, best first all the same."""
    from helpdesk.tickets import search

    monkeypatch.setattr(search, "BM25_MAX", 1)
    long = make_ticket(subject="Question about the invoices the printer on the third floor prints twice")
    exact = make_ticket(subject="Printer")
    other = make_ticket(subject="Scanner and printer")
    login(desk.manager)
    assert found(client, "printer") == [exact.number, other.number, long.number]
    assert found(client, "printer floor") == [long.number]


def test_a_search_of_a_very_common_word_holds_its_newest_matches_and_says_so(client, login, desk, make_ticket,
                                                                               monkeypatch):
    monkeypatch.setattr(search, "WINDOW", 3)
    made = [make_ticket(subject=f"Printer jam number {i}", name=f"Person {i}", email=f"p{i}@example.org")
            for i in range(5)]
    login(desk.manager)
    html = client.get("/agent/", query_string={"q": "printer jam"}).get_data(as_text=True)
    assert set(numbers(html)) == {t.number for t in made[2:]}  # the newest three
    assert ("1–3 of 3 tickets matching “printer jam”, found among its newest 3 matches. "
            "Older tickets match too: add a word to narrow the search.") in html
    # Within the window, nothing is lost: a narrower search finds an older one, and says it is all.
    html = client.get("/agent/", query_string={"q": "printer jam 1"}).get_data(as_text=True)
    assert numbers(html) == [made[1].number] and "Older tickets match" not in html
    html = client.get("/agent/", query_string={"q": "person 0"}).get_data(as_text=True)  # by the customer
    assert numbers(html) == [made[0].number] and "1–1 of 1 ticket matching" in html
