"""What the tests' apps share across the run, and how each of their requests starts.

The tests make a new app for nearly every test; compiling its templates and its URL rules
again each time was most of the suite's time, so the compiled forms are kept for the run
(see also support.db.share_engines)."""
from __future__ import annotations

from flask import Flask, g
from jinja2 import BytecodeCache


class SharedBytecode(BytecodeCache):
    """Compiled templates kept for the whole run: the tests make a new app (and so a new
    template environment) for nearly every test, and compiling the same templates again
    each time was a third of the suite's time. A changed template file gets a new entry
    (each entry carries its source's checksum)."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


def share_compiled_templates() -> None:
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": SharedBytecode()}


def share_url_builders() -> None:
    """Werkzeug compiles two URL-building functions for every route of every new app, which
    was half the cost of making the app each test gets. The function depends only on the rule
    (its text, parts and defaults), never on the Rule object (it takes it as an argument), so
    apps made in one run can share them."""
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:  # another werkzeug: nothing to share
        return
    built: dict = {}

    def shared(self, append_unknown=True):
        key = (self.rule, self.subdomain, tuple(self._trace), repr(sorted((self.defaults or {}).items())),
               append_unknown)
        if key not in built:
            built[key] = compile_builder(self, append_unknown)
        return built[key]

    Rule._compile_builder = shared

    # Parsing each rule's text into its parts (and regular expressions) was the other half.
    # The parts depend only on the rule's text and options and the map's converters; a rule
    # made from a cached parse gets its own lists and its own URL builders.
    compile_rule = Rule.compile
    parsed: dict = {}

    def compile_shared(self):
        key = (self.rule, self.subdomain, self.host, self.merge_slashes, self.strict_slashes, self.websocket,
               self.map.host_matching, repr(sorted(self.map.converters.items())))
        if key not in parsed:
            compile_rule(self)
            parsed[key] = (list(self._parts), list(self._trace), dict(self._converters), frozenset(self.arguments))
            return
        parts, trace, converters, arguments = parsed[key]
        self._parts, self._trace, self._converters = list(parts), list(trace), dict(converters)
        self.arguments |= arguments
        self._build = self._compile_builder(False).__get__(self, None)
        self._build_unknown = self._compile_builder(True).__get__(self, None)

    Rule.compile = compile_shared


def empty_g(sender, **extra):
    """Each request starts with an empty flask.g, as in production: the test's pushed app context
    outlives requests, and Flask-Login's user, the settings and the API key are cached on it.
    (A receiver of flask.request_started.)"""
    for name in list(g):
        g.pop(name, None)
