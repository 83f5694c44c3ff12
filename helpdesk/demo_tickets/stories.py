"""The demo's tickets, as they happened: the support mail of a company that sells hosted online
shops to small merchants. Oldest first; "9d 10:20" is nine working days before the last whole
one (see when.py). Addresses are at reserved .example domains, which no mail can reach.

Where they end up: new 5, open 8 (two of them reopened), awaiting customer 4, escalated 3,
resolved 7, closed 8; four are overdue, two more were resolved late.
"""
from __future__ import annotations

from .stories_earlier import EARLIER
from .stories_later import LATER

STORIES = EARLIER + LATER
