"""The first form of a Gatehouse page, read the way a browser would submit it (shared by the Python end-to-end scripts)."""

from html.parser import HTMLParser


class Form(HTMLParser):
    """The first form of a page: its action, its hidden fields, and the text of scope items."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self.scope_texts: list[str] = []
        self._in_scope_text = False
        self._forms = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._forms += 1
            if self._forms == 1:
                self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden" and self._forms == 1:
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "span" and "scope-text" in a.get("class", "").split():
            self._in_scope_text = True
            self.scope_texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_scope_text = False

    def handle_data(self, data: str) -> None:
        if self._in_scope_text:
            self.scope_texts[-1] += data
