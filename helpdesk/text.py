"""How the desk writes text: what people type turned into safe HTML and safe mail headers, and
dates, durations and sizes as pages and mails show them (in the desk's time zone)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from . import clock, settings

# Raw HTML in a message is shown as text, never interpreted; Markdown gives the light markup.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).disable("image")

_TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "hr",
}
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


def _looks_like_url(text: str) -> bool:
    """Text a reader takes for an address: "https://…", "www.…", "mailto:…" or a bare domain
    ("desk.example/login"). Plain string steps, no pattern: it runs on any stranger's text."""
    text = text.strip().lower()
    if not text or any(c.isspace() for c in text):
        return False
    if "://" in text or text.startswith(("www.", "mailto:")):
        return True
    host = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2].split(":", 1)[0]
    labels = host.split(".")
    return len(labels) >= 2 and all(labels) and labels[-1].isalpha()


def _same_address(text: str, href: str) -> bool:
    """Whether the visible text names the link's own target (scheme, case and a final "/" aside)."""
    def bare(value: str) -> str:
        value = value.strip().lower()
        value = value.partition("://")[2] if "://" in value else value.removeprefix("mailto:")
        return value.removeprefix("www.").rstrip("/")
    return bare(text) == bare(href)


def _honest_links(tokens: list[Token]) -> None:
    """A link whose visible text is or holds an address other than its target (e.g.
    "[https://desk.example/agent/login](https://evil.example)", "[Sign in at desk.example](…)")
    loses its link: its text stays as plain text, followed by the real target as the link,
    "text (https://evil.example)". Words that name no address ("click here") keep their link."""
    for block in tokens:
        children = block.children or []
        i = 0
        while i < len(children):
            if children[i].type != "link_open":
                i += 1
                continue
            end = next((j for j in range(i + 1, len(children)) if children[j].type == "link_close"), None)
            if end is None:
                break
            href = children[i].attrGet("href") or ""
            shown = "".join(c.content if c.type in ("text", "code_inline") else " " for c in children[i + 1:end]
                            if c.type in ("text", "code_inline", "softbreak", "hardbreak"))
            if not any(_looks_like_url(word) and not _same_address(word, href) for word in shown.split()):
                i = end + 1
                continue
            real = [_text(" ("), children[i], _text(href), children[end], _text(")")]
            children[i:end + 1] = children[i + 1:end] + real
            i = end - 1 + len(real)


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)


def render_body(text: str) -> str:
    """Render light Markdown and sanitise it with an allowlist: no scripts, handlers, images; a
    link that shows another address than its target shows its target (_honest_links)."""
    env: dict = {}
    tokens = _md.parse(text or "", env)
    _honest_links(tokens)
    html = _md.renderer.render(tokens, _md.options, env)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(value: str, limit: int | None = None) -> str:
    """Collapse control characters (CR/LF included) so a value is safe in a mail header."""
    value = _CONTROL.sub(" ", value or "").strip()
    value = re.sub(r" {2,}", " ", value)
    if limit is not None and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def is_number(value) -> bool:
    """Plain ASCII digits only: str.isdigit() also takes '¹' or '٣', which int() refuses or reads
    as another number."""
    return isinstance(value, str) and value.isascii() and value.isdigit()


# --- dates, durations and sizes as pages and mails show them ---------------------------------


def _local(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc).astimezone(settings.zone())


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    if not value:
        return ""
    local = _local(value)
    if "%Z" not in fmt and "%z" not in fmt:  # the zone is not shown: the naive time formats twice as fast
        local = local.replace(tzinfo=None)
    return local.strftime(fmt)


def duration(seconds: float) -> str:
    """1 h 20 min, 3 d 4 h, 45 min, under a minute."""
    minutes = int(abs(seconds) // 60)
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min" if mins else "under a minute"


def due_text(ticket, now: datetime | None = None) -> str:
    """'due in 1 h 20 min' or 'overdue by 3 h'; empty when nothing is due."""
    if ticket.due_at is None or not ticket.is_active:
        return ""
    now = now or clock.utcnow()
    delta = (ticket.due_at - now).total_seconds()
    return f"due in {duration(delta)}" if delta >= 0 else f"overdue by {duration(delta)}"


def ago(value: datetime | None) -> str:
    if value is None:
        return ""
    seconds = (clock.utcnow() - value).total_seconds()
    return "just now" if seconds < 60 else f"{duration(seconds)} ago"


def minutes(value: int | None) -> str:
    """A span of minutes as people say it: "3 days", "4 hours", "90 minutes"."""
    value = value or 0
    for unit, size in (("day", 1440), ("hour", 60)):
        if value and value % size == 0:
            count = value // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{value} minute{'' if value == 1 else 's'}"


def filesize(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""
