"""The numbers a campaign page shows, read back from its HTML with the standard library's
parser (what a person sees in the totals and steps tables, not what the template was given)."""

from __future__ import annotations

from html.parser import HTMLParser


class PageNumbers(HTMLParser):
    """Each outcome's count in ``#totals``, each step's cells in ``#steps``, the image's
    source, and whether the page refreshes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.totals: dict[str, int] = {}
        self.steps: list[list[str]] = []
        self.images: list[str] = []
        self.refresh = False
        self.title = ""
        self._table: str | None = None
        self._outcome: str | None = None
        self._cell: list[str] | None = None
        self._tag = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._tag = tag
        if tag == "table":
            self._table = a.get("id")
        elif tag == "tr" and self._table == "totals":
            self._outcome = a.get("data-outcome")
        elif tag == "tr" and self._table == "steps":
            self.steps.append([])
        elif tag == "td" and (
            (self._table == "steps" and self.steps)
            or (a.get("class") == "count" and self._outcome is not None)
        ):
            self._cell = []
        elif tag == "img":
            self.images.append(a.get("src") or "")
        elif tag == "meta" and a.get("http-equiv") == "refresh":
            self.refresh = True

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._tag == "title":
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            text = "".join(self._cell).strip()
            if self._table == "steps":
                self.steps[-1].append(text)
            elif self._outcome is not None:
                self.totals[self._outcome] = int(text.replace(",", ""))
            self._cell = None
        elif tag == "table":
            self._table = None
        self._tag = ""
