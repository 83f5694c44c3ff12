"""Ticket search: the tickets whose number, subject, customer name or customer email hold
every word of a query, ranked, on an index on both databases (helpdesk.models.search).

- A word is found anywhere inside a field, ignoring case, as the old `ILIKE '%word%'` search
  found it: "O'Brien", "plain@example", "100%", part of a ticket number (a leading '#' is
  dropped: "#K7Q2M9"). Every word must be found in the ticket (its number and subject) or
  every word in its customer (name and email).
- SQLite: words of 3 or more characters are looked up in the FTS5 trigram indexes and the
  hits ranked by bm25 (the ticket number weighs more than the subject). bm25 first counts
  every row that holds each word, all of them: for a word in more than BM25_MAX rows of an
  index ("customer" in every customer's name) that count alone would take longer than the
  search, so such a search ranks by how much of the field the words make up instead (one
  cheap statement finds out first). Shorter words are checked with LIKE on the
  index's hits; a query of short words only ("%", "ab") has nothing to look up and reads
  the tables, as before.
- PostgreSQL: ILIKE on the columns, which the pg_trgm GIN indexes answer (words of 3 or more
  characters), ranked by trigram similarity to the query.
- On both, a search reads at most WINDOW tickets found by their own fields and WINDOW found by
  their customer's, the newest first, so a word in half the desk costs what a rare one does;
  Found.capped says when there were more (the queue page says so and asks for another word).

- `tag:name` (`tag:"two words"` for a name with spaces) is no word to find but a tag the
  tickets must carry (split_tags, tagged); any case, as tags are.

The words are only ever values (bound parameters; each FTS5 word is one quoted string), so no
query text is SQL or FTS5 syntax: quotes, `*`, `-`, NEAR, parentheses, `%`, `_` are characters
to find.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import and_, column, func, literal, literal_column, or_, select, table, union_all
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Customer, Tag, Ticket, tag_key, ticket_tag

INDEXED_MIN = 3  # the trigram indexes find words of at least this many characters
# bm25 weights of the FTS columns: a ticket number found counts more than a subject word.
TICKET_WEIGHTS = (4.0, 1.0)  # number, subject
CUSTOMER_WEIGHTS = (1.0, 1.0)  # name, email
BM25_MAX = 2000  # rows a word may be in, in either index, for bm25 to rank the search
# The tickets (and customers) a search reads at most, newest first: a word in a third of a
# million tickets ("printer") is found in as little time as a rare one, and the page says the
# search holds the newest WINDOW matches only, so the agent adds a word to narrow it.
WINDOW = 2000

_ticket_fts = table("ticket_fts", column("rowid"))
_customer_fts = table("customer_fts", column("rowid"))
# The tickets and customers inside the search's subquery (never the outer query's ticket).
_t = aliased(Ticket, name="search_ticket")
_c = aliased(Customer, name="search_customer")


@dataclass(frozen=True)
class Match:
    """A search in a SELECT of tickets: `condition` keeps the tickets found (it joins the hits,
    one row per ticket), `rank` orders them, best first (ascending)."""

    condition: object
    rank: object


@dataclass(frozen=True)
class Found:
    """A search run once: the best rank of each ticket found, by id (ascending is better), and
    whether either side found more than WINDOW (the search holds the newest WINDOW of them)."""

    ranks: dict[int, float]
    capped: bool


_TAG_TERM = re.compile(r'(?<!\S)tag:(?:"([^"]*)"|(\S+))', re.IGNORECASE)


def split_tags(q: str) -> tuple[str, list[str]]:
    """(the query without its `tag:` terms, the keys of the tags they name, each once)."""
    keys: list[str] = []
    for quoted, plain in _TAG_TERM.findall(q or ""):
        key = tag_key(quoted or plain)
        if key and key not in keys:
            keys.append(key)
    return " ".join(_TAG_TERM.sub(" ", q or "").split()), keys


def tagged(key: str):
    """The condition on tickets that they carry the tag with this key (none: nothing matches)."""
    return Ticket.id.in_(select(ticket_tag.c.ticket_id).join(Tag, Tag.id == ticket_tag.c.tag_id)
                         .where(Tag.key == key))


def words(q: str) -> list[str]:
    """The query's words: split on white space, control characters dropped, a leading '#'
    dropped (a ticket number), each word once."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in q or "")
    found: list[str] = []
    for word in text.split():
        word = word.lstrip("#") or word
        if word.lower() not in (w.lower() for w in found):
            found.append(word)
    return found


def match(q: str) -> Match | None:
    """The search for q on the app's database as part of a SELECT, or None if q holds no word."""
    found = words(q)
    if not found:
        return None
    hits = _hits(*_sides(found)).subquery("search_hits")
    return Match(condition=Ticket.id == hits.c.id, rank=hits.c.rank)


def find(q: str) -> Found | None:
    """The search for q run now (one statement reads both sides of the index), or None if q
    holds no word: a page filters, orders and counts its few thousand ids without reading the
    index again."""
    found = words(q)
    if not found:
        return None
    sides = [side.limit(WINDOW + 1).subquery() for side in _sides(found)]
    both = union_all(*(select(literal(n).label("side"), side.c.id, side.c.rank) for n, side in enumerate(sides)))
    per_side, ranks = [0, 0], {}
    for side, ticket_id, rank in db.session.execute(both):
        per_side[side] += 1
        if per_side[side] <= WINDOW and (ticket_id not in ranks or rank < ranks[ticket_id]):
            ranks[ticket_id] = rank
    return Found(ranks=ranks, capped=max(per_side) > WINDOW)


def customer_condition(q: str):
    """Customers whose name or email hold every word of q (the same matching as for tickets),
    or None if q holds no word."""
    found = words(q)
    if not found:
        return None
    indexed, short = _split(found)
    if db.engine.dialect.name == "sqlite" and indexed:
        conditions = [Customer.id.in_(select(_customer_fts.c.rowid).where(_fts_match("customer_fts", indexed)))]
        return and_(*conditions, *(_any(w, Customer.name, Customer.email) for w in short))
    return and_(*(_any(w, Customer.name, Customer.email) for w in found))


# --- how ---------------------------------------------------------------------------------------


def _split(found: list[str]) -> tuple[list[str], list[str]]:
    return [w for w in found if len(w) >= INDEXED_MIN], [w for w in found if len(w) < INDEXED_MIN]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _any(word: str, *columns):
    pattern = f"%{_escape_like(word)}%"
    return or_(*(c.ilike(pattern, escape="\\") for c in columns))


def _fts_match(fts: str, found: list[str]):
    """`fts MATCH '"w1" "w2"'`: every word, each one FTS5 string (a substring to the trigram
    tokenizer), its double quotes doubled. Nothing in it is FTS5 syntax."""
    expression = " ".join('"' + w.replace('"', '""') + '"' for w in found)
    return literal_column(fts).op("MATCH")(literal(expression))


def _sides(found: list[str]):
    """(tickets found by their own fields, tickets found by their customer's): two SELECTs of
    (id, rank), each newest first."""
    return (_sqlite_sides if db.engine.dialect.name == "sqlite" else _trigram_sides)(found)


def _hits(ticket_side, customer_side):
    """One row per ticket found, with its best rank. Each side is read newest first and at most
    WINDOW rows of it (a compound SELECT orders and limits its parts only as subqueries)."""
    sides = [side.limit(WINDOW).subquery() for side in (ticket_side, customer_side)]
    both = union_all(*(select(side.c.id, side.c.rank) for side in sides)).subquery("search_found")
    return select(both.c.id, func.min(both.c.rank).label("rank")).group_by(both.c.id)


def _sqlite_sides(found: list[str]):
    indexed, short = _split(found)
    t, c = _t, _c
    if not indexed:  # nothing the index can find: the rows themselves, as before the index
        return (
            select(t.id, literal(0.0).label("rank")).where(*(_any(w, t.number, t.subject) for w in found))
            .order_by(t.id.desc()),
            select(t.id, literal(0.0).label("rank")).join(c, c.id == t.customer_id)
            .where(*(_any(w, c.name, c.email) for w in found)).order_by(t.id.desc()),
        )
    if _common(indexed):
        # The share of the field the words make up: "Printer" before "Printer on floor 1 ..."
        length = float(sum(len(w) for w in found))
        ticket_rank = -length / (func.length(t.subject) + func.length(t.number))
        customer_rank = -length / (func.length(c.name) + func.length(c.email))
    else:
        ticket_rank = func.bm25(literal_column("ticket_fts"), *TICKET_WEIGHTS)
        customer_rank = func.bm25(literal_column("customer_fts"), *CUSTOMER_WEIGHTS)
    return (
        select(t.id, ticket_rank.label("rank")).select_from(_ticket_fts)
        .join(t, t.id == _ticket_fts.c.rowid)
        .where(_fts_match("ticket_fts", indexed), *(_any(w, t.number, t.subject) for w in short))
        .order_by(_ticket_fts.c.rowid.desc()),
        # in the index's own order, so that reading the newest WINDOW stops there
        select(t.id, customer_rank.label("rank")).select_from(_customer_fts)
        .join(c, c.id == _customer_fts.c.rowid)
        .join(t, t.customer_id == c.id)
        .where(_fts_match("customer_fts", indexed), *(_any(w, c.name, c.email) for w in short))
        .order_by(_customer_fts.c.rowid.desc()),
    )


def _common(indexed: list[str]) -> bool:
    """Whether a word is in more than BM25_MAX rows of either index (bm25 would first count them
    all): one statement asking each index for a word's row number BM25_MAX + 1, reading no further."""
    beyond = [
        select(literal(1)).select_from(fts).where(_fts_match(fts.name, [w])).limit(1).offset(BM25_MAX).exists()
        for fts in (_ticket_fts, _customer_fts) for w in indexed
    ]
    return bool(db.session.scalar(select(or_(*beyond))))


def _trigram_sides(found: list[str]):
    t, c = _t, _c
    q = literal(" ".join(found))
    return (
        select(t.id, (-func.greatest(func.similarity(t.number, q), func.similarity(t.subject, q))).label("rank"))
        .where(*(_any(w, t.number, t.subject) for w in found)).order_by(t.id.desc()),
        select(t.id, (-func.greatest(func.similarity(c.name, q), func.similarity(c.email, q))).label("rank"))
        .select_from(c).join(t, t.customer_id == c.id)
        .where(*(_any(w, c.name, c.email) for w in found)).order_by(t.id.desc()),
    )
