"""No text from a stranger can make the desk work for minutes: every regular expression in the
code, and every function that takes a message or mail body whole, runs in time about linear in
the text (tests/regex_cost.py finds the patterns and measures them; see its docstring). The
measuring runs in a subprocess with a timeout, so a bad pattern fails the suite and never hangs it;
the check is shown to catch the patterns that once made mail intake quadratic."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import regex_cost

SCRIPT = Path(regex_cost.__file__)
# Patterns that took quadratic time on mail once (a mail of 240 KB cost 17 s, one of 120 KB 28 s).
OLD_BLOCK_END = r"(?i)<\s*(br\s*/?|/p|/div|/li|/tr|/h[1-6]|/blockquote|/pre|/table)\s*>"
OLD_LIST_ITEM = r"(?i)<\s*li[^>]*>"


def run_check(*args: str) -> tuple[list[str], list[dict]]:
    """(the patterns checked, the failures), from the script run in a subprocess."""
    try:
        done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=900,
                              cwd=SCRIPT.parent.parent)
        out = done.stdout
    except subprocess.TimeoutExpired as exc:  # what it was checking when it stopped is the culprit
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise AssertionError(f"the check did not finish; it was at: {out.strip().splitlines()[-1:]}") from exc
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines and lines[-1] == {"done": True}, done.stderr[-3000:]
    patterns = next((line["patterns"] for line in lines if "patterns" in line), [])
    return patterns, [line["failure"] for line in lines if "failure" in line]


def test_every_pattern_in_the_code_runs_in_linear_time():
    patterns, failures = run_check()
    # found by themselves: compiled at module level, in a list, and written inline in a call
    for where in ("helpdesk.mailin.route._SUBJECT_NUMBER", "helpdesk.mailin.parsing._MSGID", "helpdesk.mailin.parsing._QUOTE_HEADERS[0]",
                  "helpdesk.mailin.parsing._QUOTE_HEADERS[4]", "helpdesk.text._CONTROL", "helpdesk.mail.wording._BRACED"):
        assert where in patterns
    assert any(p.startswith("helpdesk.text:") for p in patterns)  # re.sub(r" {2,}", ...) in one_line
    assert failures == []


def test_the_check_catches_the_patterns_that_were_quadratic():
    _, failures = run_check("--pattern", OLD_BLOCK_END, OLD_LIST_ITEM, r"\s*$", r"(a+)+$", r"<\s*li\b")
    caught = {f["pattern"]: f for f in failures}
    assert set(caught) == {OLD_BLOCK_END, OLD_LIST_ITEM, r"\s*$", r"(a+)+$"}  # the last one is linear
    assert "' '" in caught[OLD_BLOCK_END]["text"] and "li" in caught[OLD_LIST_ITEM]["text"]


def test_the_text_functions_run_in_linear_time():
    _, failures = run_check("--functions")
    assert failures == []
