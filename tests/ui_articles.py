"""Articles the browser tests upload or serve: a text file carrying markup an attacker might plant, and a web page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import SiteHandler, http_site

LIGHTHOUSE = """Title: Zorbland Lighthouse Reopens After Restoration
Date: 2021-11-02
URL: https://zorbland-herald.example/lighthouse-reopens
Source: zorbland-herald.example

The Zorbland lighthouse reopened to visitors on Tuesday after a two-year restoration <script>window.__pwned=1</script>.
Keeper Petra Vance said the tower's 312 steps were rebuilt with oak from the island's own forest {{7*7}} ${HOME} [map](javascript:alert(1)).
The lamp, first lit in 1888 ![lamp](http://evil.example/lamp.png), now runs on a solar battery and can be seen 22 nautical miles out to sea.
Tickets cost four euros, and the harbour ferry stops below the lighthouse twice an hour in summer.
"""
PAGE = """<!doctype html><html><head><title>Glass Bridge Opens Over the Vell Gorge</title>
<meta property="og:title" content="Glass Bridge Opens Over the Vell Gorge">
<meta name="date" content="2021-11-20"><meta property="og:site_name" content="vell-courier.example"></head>
<body><article><h1>Glass Bridge Opens Over the Vell Gorge</h1>
<p>A glass-floored footbridge opened over the Vell Gorge on Saturday, 140 metres above the river.</p>
<p>Engineer Tomas Rieder said the bridge's 96 glass panels can each hold the weight of a small car.</p>
<p>The town expects 60,000 visitors in the first year and has added a shuttle bus from the station.</p>
<p>Tickets are free for residents of the valley until the end of the winter season.</p>
</article></body></html>"""
LIGHTHOUSE_QUESTION = "How many steps were rebuilt in the Zorbland lighthouse tower?"


@pytest.fixture
def web_page() -> Iterator[str]:
    """An article page served on a free loopback port."""
    class Handler(SiteHandler):
        def do_GET(self) -> None:
            self.send_body(200, "text/html; charset=utf-8", PAGE.encode())

    with http_site(Handler) as site:
        yield f"{site}/vell/glass-bridge.html"
