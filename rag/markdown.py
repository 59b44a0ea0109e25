"""Answer text as markdown a chat client can render safely: article text becomes plain text, never HTML or a link.

Article titles, sites and quoted sentences are untrusted. Chat clients (Open WebUI, LibreChat) render
an assistant message as markdown, so a title `<script>...` or `[click](javascript:...)` would become
markup. Here every character that could start HTML, a link, an image or emphasis is backslash-escaped
(CommonMark shows it as itself), `[n]` citation markers stay as they are (and can never become a link
reference definition), and only plain http(s) URLs are written, percent-encoded.

    writer = MarkdownWriter()
    safe = writer.feed("Milley said <b>so</b> [1].") + writer.flush()   # 'Milley said \\<b\\>so\\</b\\> [1].'
    writer.markers                                                     # [(26, 29, 1)]: offsets of "[1]"
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

_SPECIAL = re.compile(r"[\\`*_\[\]<>~|!]")
_MARKER_OR_SPECIAL = re.compile(r"\[(\d{1,3})\](:?)|[\\`*_\[\]<>~|!]")
_HELD_TAIL = re.compile(r"\[\d{0,3}\]?$")  # a marker that may still be cut, or one a ':' may follow
_URL_SAFE = "/:?#@!$&'*+,;=%-._~"  # no brackets, parentheses, quotes, spaces or angle brackets
_HOST = re.compile(r"^[A-Za-z0-9.\-:@%_~\[\]]+$")


def escape_markdown(text: str) -> str:
    """`text` with every markdown-active character backslash-escaped (for titles, sites, dates)."""
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), " ".join(text.split()))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL with a host, percent-encoded so it cannot break out of markdown; None for anything else."""
    if not url or not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # an unbalanced [ in the host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not _HOST.match(parts.netloc):
        return None
    path, query, fragment = (quote(p, safe=_URL_SAFE) for p in (parts.path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, query, fragment))


class MarkdownWriter:
    """Escapes answer text piece by piece (as it streams) and records where each `[n]` marker lands.

    `markers` holds (start, end, n) offsets into the text returned so far. The pieces returned, joined,
    are the same however the input was cut into pieces.
    """

    def __init__(self) -> None:
        self.written = 0
        self.markers: list[tuple[int, int, int]] = []
        self._held = ""

    def feed(self, piece: str) -> str:
        """The escaped text that is certain now; a trailing `[1` or `[1]` waits for what follows it."""
        text = self._held + piece
        tail = _HELD_TAIL.search(text)
        cut = tail.start() if tail else len(text)
        self._held = text[cut:]
        return self._escape(text[:cut])

    def flush(self) -> str:
        """The rest of the text, at the end of the answer."""
        text, self._held = self._held, ""
        return self._escape(text)

    def write(self, text: str) -> str:
        """Text that is already safe (the sources list), counted in the offsets."""
        out = self.flush() + text
        self.written += len(text)
        return out

    def _escape(self, text: str) -> str:
        out: list[str] = []
        length, pos = self.written, 0
        for match in _MARKER_OR_SPECIAL.finditer(text):
            out.append(text[pos : match.start()])
            length += match.start() - pos
            if match.group(1) is None:
                piece = "\\" + match.group(0)
            else:
                marker = f"[{match.group(1)}]"
                self.markers.append((length, length + len(marker), int(match.group(1))))
                piece = marker + ("\\:" if match.group(2) else "")  # `[1]:` at a line start would define a link
            out.append(piece)
            length += len(piece)
            pos = match.end()
        out.append(text[pos:])
        result = "".join(out)
        self.written += len(result)
        return result
