"""Proving a check able to fail: the variant tests make the desk vulnerable in one way and run the
same check that passes on the real desk; it must report the hole."""
from __future__ import annotations


def fails(check, *args, **kwargs) -> bool:
    """True when the check finds the hole (an AssertionError); any other error is the test's."""
    try:
        check(*args, **kwargs)
    except AssertionError:
        return True
    return False
