"""Automations: rules a desk writes that act on tickets when something happens to them (event
rules) or when time has passed (time rules).

- conditions.py: what a rule can test (FIELDS and their operators), checked as written and tested
  against what happened (Facts);
- actions.py: what a rule can do (ACTIONS), checked as written, described and applied through
  the lifecycle's own changes for the desk (helpdesk/tickets/system.py);
- engine.py: event rules, run in the transaction of the change that fired them, in order, with
  stop-on-match and the loop guard;
- preview.py: what a rule would have done to recent tickets, computed without changing anything;
- editing.py: saving a rule: who may write which, every part checked, audited.
"""
from .actions import ACTIONS
from .conditions import FIELDS, RuleError
from .engine import MAX_DEPTH, active_rules, init_app, mail_in

__all__ = ["ACTIONS", "FIELDS", "MAX_DEPTH", "RuleError", "active_rules", "init_app", "mail_in"]
