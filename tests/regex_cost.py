"""What a regular expression costs on hostile text: every pattern in helpdesk/ is found by itself
(module-level compiled patterns, in lists and dicts too, and every literal pattern passed to a
function of `re` anywhere in the code), run on the classic worst cases built from its own
characters (long runs of one character, a matching prefix repeated, a prefix followed by a long
run, whitespace runs, nested brackets) at growing sizes, and the growth of its CPU time compared:
ten times the text must cost about ten times as much (at most RATIO times + SLACK seconds), never
a hundred. A pattern is never run on a bigger text once it failed on a smaller one, and each run
has a CPU budget (SIGPROF), so a quadratic or exponential pattern fails quickly instead of hanging.

Run as a script it prints one JSON line per finding (`python tests/regex_cost.py`; with
`--pattern REGEX ...` it checks those patterns instead of the code's): the test runs it in a
subprocess, so not even a pattern the budget cannot interrupt can hang the suite.
"""
from __future__ import annotations

import ast
import contextlib
import importlib
import json
import pkgutil
import re
import signal
import sys
import time
from pathlib import Path

try:
    from re import _constants as C  # Python 3.11+
    from re import _parser as P
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as C
    import sre_parse as P

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 10_000, 100_000, 1_000_000)
# Ten times the text: linear is about 10 times the time, up to 15 where the larger text no longer
# fits the CPU's caches, and more on a busy machine; quadratic is 100 times.
RATIO = 30
SLACK = 0.05  # seconds: timer noise and the garbage collector on small runs
BUDGET = 3.0  # CPU seconds for one run of a pattern: far over what any linear run here needs
# The text functions on 200 KB: markdown-it alone spends about 15 µs a character on some texts
# ("[" repeated: 3 s at 200 KB, growing linearly), so their runs get more room; a quadratic one
# still fails, by its growth or by this budget.
FUNCTION_BUDGET = 15.0
TOP = 3  # inputs per pattern that go on to the biggest size (the costliest per character)
FUNCTIONS_SIZES = (2_000, 20_000, 200_000)

_CATEGORY = {
    C.CATEGORY_DIGIT: str.isdigit, C.CATEGORY_SPACE: str.isspace,
    C.CATEGORY_WORD: lambda c: c.isalnum() or c == "_", C.CATEGORY_LINEBREAK: lambda c: c == "\n",
}
_CATEGORY.update({
    C.CATEGORY_NOT_DIGIT: lambda c: not c.isdigit(), C.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    C.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"), C.CATEGORY_NOT_LINEBREAK: lambda c: c != "\n",
})
_CANDIDATES = "a0 _-.<>/x\n#@:;&[](){}'\"=ZzA9\t"


# --- finding the patterns -------------------------------------------------------------------


def _modules():
    import helpdesk

    yield helpdesk
    for info in pkgutil.walk_packages(helpdesk.__path__, "helpdesk."):
        yield importlib.import_module(info.name)


def _patterns_in(value, seen: set) -> list[re.Pattern]:
    if isinstance(value, re.Pattern):
        return [value]
    found = []
    if isinstance(value, (list, tuple, set, frozenset)):
        items = value
    elif isinstance(value, dict):
        items = list(value.values())
    else:
        return []
    if id(value) in seen:
        return []
    seen.add(id(value))
    for item in items:
        found += _patterns_in(item, seen)
    return found


_FLAGS_AT = {"compile": 1, "match": 2, "search": 2, "fullmatch": 2, "findall": 2, "finditer": 2, "split": 3,
             "sub": 4, "subn": 4}


def _inline(module) -> list[tuple[str, re.Pattern]]:
    """Patterns written in a call such as re.sub(r"...", ...) (not kept in a variable)."""
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return []
    found = []
    for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                and node.func.attr in _FLAGS_AT and node.args):
            continue
        flags = next((k.value for k in node.keywords if k.arg == "flags"), None)
        if flags is None and len(node.args) > _FLAGS_AT[node.func.attr]:
            flags = node.args[_FLAGS_AT[node.func.attr]]
        try:  # names the module defines (an f-string of constants, a flag) are looked up in it
            source = eval(compile(ast.Expression(node.args[0]), path, "eval"), vars(module))  # noqa: S307
            flag_value = 0 if flags is None else eval(compile(ast.Expression(flags), path, "eval"), vars(module))  # noqa: S307
            found.append((f"{module.__name__}:{node.lineno}", re.compile(source, flag_value)))
        except Exception as exc:  # noqa: BLE001 - a pattern built at run time: named, so it is seen
            raise AssertionError(f"{module.__name__}:{node.lineno}: a pattern this check cannot read "
                                 f"({exc}); keep it in a module-level constant") from exc
    return found


def code_patterns() -> dict[str, re.Pattern]:
    """Every pattern of the desk's code, by where it is."""
    found: dict[str, re.Pattern] = {}
    for module in _modules():
        seen: set = set()
        for name, value in vars(module).items():
            for i, pattern in enumerate(_patterns_in(value, seen)):
                suffix = f"[{i}]" if not isinstance(value, re.Pattern) else ""
                found.setdefault(f"{module.__name__}.{name}{suffix}", pattern)
        for where, pattern in _inline(module):
            found.setdefault(where, pattern)
    # The same compiled pattern imported elsewhere is checked once.
    unique, keys = {}, set()
    for where, pattern in sorted(found.items()):
        if (pattern.pattern, pattern.flags) not in keys:
            keys.add((pattern.pattern, pattern.flags))
            unique[where] = pattern
    return unique


# --- the hostile texts ----------------------------------------------------------------------


def _in_class(c: str, items, ignorecase: bool) -> bool:
    chars = {c, c.lower(), c.upper()} if ignorecase else {c}
    for op, av in items:
        if op is C.LITERAL and chr(av) in chars:
            return True
        if op is C.RANGE and any(av[0] <= ord(x) <= av[1] for x in chars):
            return True
        if op is C.CATEGORY and _CATEGORY.get(av, lambda _: False)(c):
            return True
    return False


def _one(op, av, ignorecase: bool) -> str:
    """One character this node matches."""
    if op is C.LITERAL:
        return chr(av)
    if op is C.NOT_LITERAL:
        return "a" if chr(av) != "a" else "b"
    if op is C.ANY:
        return "a"
    items = [x for x in av if x[0] is not C.NEGATE]
    negate = len(items) != len(av)
    return next((c for c in _CANDIDATES if _in_class(c, items, ignorecase) != negate), "a")


def _examples(sub, ignorecase: bool, limit: int = 12) -> list[str]:
    """A few texts that (roughly) match the parsed pattern: each alternative once."""
    results = [""]
    for op, av in sub:
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            options = [_one(op, av, ignorecase)]
        elif op is C.BRANCH:
            options = [e for branch in av[1] for e in _examples(branch, ignorecase, limit)]
        elif op is C.SUBPATTERN:
            options = _examples(av[-1], ignorecase, limit)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, high, body = av
            times = min(max(low, 1), high) if high else 0
            options = [e * times for e in _examples(body, ignorecase, limit)]
        elif op is getattr(C, "ATOMIC_GROUP", None):
            options = _examples(av, ignorecase, limit)
        else:  # anchors, lookarounds, back references: nothing to add
            continue
        results = [r + o for r in results for o in options][:limit]
    return results


def hostile_texts(pattern: re.Pattern) -> dict[str, callable]:
    """name -> make(size): the classic worst cases for this pattern."""
    ignorecase = bool(pattern.flags & re.IGNORECASE)
    try:
        examples = _examples(P.parse(pattern.pattern, pattern.flags), ignorecase)
    except Exception:  # noqa: BLE001 - a pattern the private parser reads otherwise: runs only
        examples = []
    runs = set(" \t\n\r a0<>[]{}()&#;:/-_.@=\"'") | {c for c in pattern.pattern if c.isprintable()}
    texts = {}
    for c in sorted(runs):  # and with an end that no run matches up to (as "\\s*$" must fail)
        texts[f"{c!r} * n"] = lambda n, c=c: c * n
        texts[f"{c!r} * n + '!'"] = lambda n, c=c: c * (n - 2) + "\x00!"
    texts["nested brackets"] = lambda n: "[(<{" * (n // 8) + "}>)]" * (n // 8)
    for example in examples:
        for k in range(1, len(example) + 1):
            prefix = example[:k]
            texts[f"{prefix!r} * n"] = lambda n, p=prefix: p * (n // len(p) + 1)
            for c in {" ", "a", "0", example[k - 1], example[k] if k < len(example) else "\n"}:
                texts[f"{prefix!r} + {c!r} * n"] = lambda n, p=prefix, c=c: p + c * n
                texts[f"{prefix!r} + {c!r} * n + '!'"] = lambda n, p=prefix, c=c: (p + c * n)[:n - 2] + "\x00!"
    return texts


# --- measuring ------------------------------------------------------------------------------


class OverBudget(BaseException):
    """Past the CPU budget (a BaseException, so no `except Exception` of the desk's swallows it)."""


def _alarm(*_):
    raise OverBudget


@contextlib.contextmanager
def cpu_budget(seconds: float):
    """Stop what runs inside once it has used `seconds` of CPU (SIGPROF; where signals cannot be
    set, as off the main thread, it only runs); yields nothing, the caller measures."""
    try:
        old = signal.signal(signal.SIGPROF, _alarm)
    except ValueError:
        yield
        return
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


# Megabyte-sized mail bodies, HTML and plain, built on the worst cases found for the old patterns.
MAIL_SIZE = 1_200_000
HOSTILE_BODIES = {
    "html <li": ("html", lambda n: "<html><body>" + "<li" * (n // 3)),
    "html <br spaces": ("html", lambda n: "<p>Hi</p><br" + " " * n),
    "html </ spaces": ("html", lambda n: "</" + " " * n + "p"),
    "html entities": ("html", lambda n: "<p>" + "&" * n),
    "html open tags": ("html", lambda n: "<a b" * (n // 4)),
    "html comments": ("html", lambda n: "<!--" * (n // 4)),
    "html nested": ("html", lambda n: "<div><li><p>" * (n // 12)),
    "plain On": ("plain", lambda n: "On " * (n // 3)),
    "plain On lines": ("plain", lambda n: "Hello\n" + "On x\n" * (n // 5)),
    "plain spaces": ("plain", lambda n: "x" + " " * n + "!"),
    "plain quotes": ("plain", lambda n: "Hi\n" + "> " * (n // 2)),
    "plain underscores": ("plain", lambda n: "_" * n + "x"),
}


def hostile_mail(name: str, size: int = MAIL_SIZE, sender: str = "mallory@example.net") -> bytes:
    """One mail whose only body is the named hostile text (base64, so any line length travels)."""
    import base64

    subtype, make = HOSTILE_BODIES[name]
    body = base64.encodebytes(make(size).encode()).decode()
    return (f"From: Mallory <{sender}>\r\nTo: support@desk.test\r\nSubject: Hostile {name}\r\n"
            f"Message-ID: <hostile-{name.replace(' ', '-')}-{size}@example.net>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            f"{body}").encode()


def cost(run, text: str, repeat: int = 1, budget: float = BUDGET) -> float:
    """CPU seconds of run(text) (the least of `repeat` runs); OverBudget past `budget`."""
    best = float("inf")
    for _ in range(repeat):
        signal.setitimer(signal.ITIMER_PROF, budget)
        try:
            start = time.process_time()
            run(text)
            best = min(best, time.process_time() - start)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    return best


def scan(pattern: re.Pattern):
    """What the desk does with a pattern, at its worst: search from every position (finditer is
    re.sub's and re.findall's loop too), and match the whole text."""
    def run(text: str) -> None:
        for _ in pattern.finditer(text):
            pass
        pattern.fullmatch(text)
    return run


def grows_linearly(run, make, sizes=SIZES, top_only: bool = False, budget: float = BUDGET) -> tuple[bool, str, float]:
    """(ok, what was seen, cost at the last size run). Each size is ten times the one before."""
    seen, before = [], None
    for n in sizes:
        text = make(n)[:n]
        try:
            spent = cost(run, text, repeat=1 if n == sizes[-1] else 2, budget=budget)
            if before is not None and spent > RATIO * before + SLACK:  # measured once more: noise?
                spent = min(spent, cost(run, text, repeat=3, budget=budget))
        except OverBudget:
            return False, " ".join(seen + [f"{n}: over {budget:.0f}s of CPU"]), budget
        seen.append(f"{n}: {spent:.4f}s")
        if before is not None and spent > RATIO * before + SLACK:
            return False, " ".join(seen), spent
        before = spent
    return True, " ".join(seen), before


def check_pattern(where: str, pattern: re.Pattern) -> list[dict]:
    """The first finding for one pattern (or none): every hostile text to 100 KB, the costliest
    on to 1 MB."""
    run, costs = scan(pattern), []
    texts = hostile_texts(pattern)
    for name, make in texts.items():
        ok, seen, spent = grows_linearly(run, make, SIZES[:-1])
        if not ok:
            return [{"where": where, "pattern": pattern.pattern, "text": name, "seen": seen}]
        costs.append((spent, name))
    for _, name in sorted(costs, reverse=True)[:TOP]:
        ok, seen, _ = grows_linearly(run, texts[name], SIZES[-2:])
        if not ok:
            return [{"where": where, "pattern": pattern.pattern, "text": name, "seen": seen}]
    return []


def text_functions() -> dict[str, callable]:
    """The desk's functions that take a stranger's text whole (mail bodies, messages)."""
    from helpdesk import mailin, text

    return {"mailin.html_to_text": mailin.html_to_text, "mailin.trim_quoted": mailin.trim_quoted,
            "text.one_line": text.one_line, "text.render_body": text.render_body}


FUNCTION_TEXTS = {name: make for name, (_, make) in HOSTILE_BODIES.items()} | {
    "markdown brackets": lambda n: "[" * n, "markdown links": lambda n: "[a](b " * (n // 6),
    "markdown emphasis": lambda n: "*_" * (n // 2), "markdown backticks": lambda n: "`" * n,
    "markdown nested quotes": lambda n: ">" * n, "markdown lists": lambda n: "- " * (n // 2),
    "urls": lambda n: "[https://a.example](https://b.example) " * (n // 38), "lines": lambda n: "a\n" * (n // 2),
}


def check_functions() -> list[dict]:
    """The text functions on every hostile text, 2 KB to 200 KB (a message is at most 20,000
    characters; mail intake reads at most MARKUP_MAX of markup, measured apart end to end)."""
    failures = []
    for fname, function in text_functions().items():
        for tname, make in FUNCTION_TEXTS.items():
            ok, seen, _ = grows_linearly(function, make, FUNCTIONS_SIZES, budget=FUNCTION_BUDGET)
            if not ok:
                failures.append({"where": fname, "text": tname, "seen": seen})
    return failures


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGPROF, _alarm)
    if argv[:1] == ["--functions"]:
        for failure in check_functions():
            print(json.dumps({"failure": failure}), flush=True)
        print(json.dumps({"done": True}), flush=True)
        return 0
    if argv[:1] == ["--pattern"]:
        patterns = {f"given[{i}]": re.compile(p) for i, p in enumerate(argv[1:])}
    else:
        patterns = code_patterns()
    print(json.dumps({"patterns": sorted(patterns)}), flush=True)
    for where, pattern in patterns.items():
        print(json.dumps({"start": where}), flush=True)
        for failure in check_pattern(where, pattern):
            print(json.dumps({"failure": failure}), flush=True)
    print(json.dumps({"done": True}), flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
