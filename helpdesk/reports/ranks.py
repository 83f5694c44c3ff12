"""Nearest-rank percentiles (the value at rank ceil(n * a / b) for each fraction a/b): exact, in
the database, over the tickets a condition selects; or to a step, from a histogram of the report
cells. PostgreSQL's ordered-set aggregate sorts once per group; elsewhere a window function ranks
the values. Both give the same ranks.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, literal, or_, select
from sqlalchemy.dialects.postgresql import array as pg_array

from ..extensions import db


def exact(value, where: list, group=None, ps=((1, 2), (9, 10))) -> dict:
    """{group value: [p1, p2, ...]} of `value` over the rows `where` selects (a list of conditions
    on tickets); one group (0) without `group`."""
    if db.engine.dialect.name == "postgresql":
        return _sorted(value, where, group, ps)
    grouping = [group] if group is not None else []
    ranked = select(
        (group if group is not None else literal(0)).label("g"), value.label("v"),
        func.row_number().over(partition_by=grouping, order_by=value).label("rn"),
        func.count().over(partition_by=grouping).label("n"),
    ).where(*where).subquery()
    wanted = [(ranked.c.n * a + b - 1) // b for a, b in ps]
    rows = db.session.execute(select(ranked.c.g, ranked.c.v, ranked.c.rn, ranked.c.n)
                              .where(or_(*[ranked.c.rn == w for w in wanted]))).all()
    found: dict = defaultdict(lambda: [None] * len(ps))
    for g, v, rn, n in rows:
        for i, (a, b) in enumerate(ps):
            if rn == (n * a + b - 1) // b:
                found[g][i] = v
    return dict(found)


def _sorted(value, where: list, group, ps) -> dict:
    # percentile_disc(f) is the value at rank ceil(f * n), f * n in floating point: for halves and
    # tenths that lands on the right whole number (checked up to 3 million tickets).
    fractions = pg_array([literal(a / b) for a, b in ps])
    found = func.percentile_disc(fractions).within_group(value)
    key = group if group is not None else literal(0)
    query = select(key, found).where(*where)
    if group is not None:
        query = query.group_by(group)
    return {g: list(values) for g, values in db.session.execute(query) if values is not None}


def stepped(buckets: list[tuple[int, int]], ps) -> list:
    """The same ranks in a histogram, [(bucket floor in seconds, n), ...] in order: the floor of
    the bucket holding each rank."""
    n = sum(count for _, count in buckets)
    found = []
    for a, b in ps:
        want, seen = (n * a + b - 1) // b, 0
        for floor, count in buckets:
            seen += count
            if seen >= want:
                found.append(floor)
                break
        else:
            found.append(None)
    return found
