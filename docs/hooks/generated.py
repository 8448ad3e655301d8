"""MkDocs hook: pages whose text lives elsewhere are filled in at build time, so the site cannot drift from it.

- `<!-- eebench:catalogue -->` becomes `eebench list` (every registered component and its options);
- `<!-- eebench:include PATH -->` becomes the file at PATH (relative to the repository root), its first heading
  dropped and its links to repository files shown as paths."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INCLUDE = re.compile(r"<!-- eebench:include (\S+) -->")
LINK = re.compile(r"\[([^\]]+)\]\((?!https?://|#)([^)]+)\)")


def _included(match: re.Match) -> str:
    text = (ROOT / match.group(1)).read_text(encoding="utf-8")
    text = re.sub(r"\A# .*\n", "", text)  # the page has its own title
    return LINK.sub(lambda link: f"{link.group(1)} (`{link.group(2)}`)", text)


def on_page_markdown(markdown: str, **kwargs) -> str:
    if "<!-- eebench:catalogue -->" in markdown:
        from eebench.catalogue import KINDS, describe

        markdown = markdown.replace("<!-- eebench:catalogue -->", f"```text\n{describe(KINDS)}\n```")
    return INCLUDE.sub(_included, markdown)
