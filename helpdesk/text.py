"""Turning what people type into safe HTML and safe mail headers."""
import re

import nh3
from markdown_it import MarkdownIt

# Raw HTML in a message is shown as text, never interpreted; Markdown gives the light markup.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).disable("image")

_TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "hr",
}
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


def render_body(text: str) -> str:
    """Render light Markdown and sanitise it with an allowlist: no scripts, handlers, images."""
    html = _md.render(text or "")
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
