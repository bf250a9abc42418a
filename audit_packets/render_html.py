"""A `Document` as one self-contained HTML page: inline CSS, no script, every text escaped.

Text in a document comes from packets, which carry what users typed (ids, names, reasons); it goes
through `html.escape` and never becomes markup. `STYLE_SHA256` is the stylesheet's CSP hash, so the
console can serve the page under a Content-Security-Policy that allows this style and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from audit_packets.document import Document, Facts, Paragraph, Section, Table

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;color:#1b1f24;max-width:60rem;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:1.8rem;border-bottom:1px solid #d0d7de}
p.subtitle{color:#57606a;margin-top:0}p.note{color:#57606a;font-style:italic}
p.banner{background:#fff8c5;border:1px solid #d4a72c;padding:.6rem .8rem;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa}table.facts th{width:14rem}
footer{margin-top:2rem;color:#57606a;font-size:12px;border-top:1px solid #d0d7de;padding-top:.5rem}
"""

STYLE_SHA256 = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
"""Hash of the inline stylesheet, for a Content-Security-Policy that allows only it."""


def _facts(block: Facts) -> str:
    rows = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in block.rows)
    return f'<table class="facts"><tbody>{rows}</tbody></table>'


def _table(block: Table) -> str:
    if not block.rows:
        return f'<p class="note">{escape(block.empty)}</p>'
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in block.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in block.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _paragraph(block: Paragraph) -> str:
    css = ' class="note"' if block.note else ""
    return f"<p{css}>{escape(block.text)}</p>"


def _section(section: Section) -> str:
    parts = [f"<section><h2>{escape(section.heading)}</h2>"]
    for block in section.blocks:
        if isinstance(block, Facts):
            parts.append(_facts(block))
        elif isinstance(block, Table):
            parts.append(_table(block))
        else:
            parts.append(_paragraph(block))
    parts.append("</section>")
    return "".join(parts)


def document_html(document: Document) -> str:
    """The whole page."""
    banner = f'<p class="banner">{escape(document.banner)}</p>\n' if document.banner else ""
    footer = f"<footer>{escape(document.footer)}</footer>\n" if document.footer else ""
    sections = "\n".join(_section(section) for section in document.sections)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(document.title)}</title>'
        f"<style>{STYLE}</style></head><body>\n"
        f"{banner}<header><h1>{escape(document.title)}</h1>"
        f'<p class="subtitle">{escape(document.subtitle)}</p></header>\n'
        f"<main>\n{sections}\n</main>\n{footer}</body></html>\n"
    )
