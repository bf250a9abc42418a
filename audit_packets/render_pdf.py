"""A `Document` as a PDF (reportlab, pure Python: runs in the Functions worker, no browser).

Text is set in Bitstream Vera (shipped inside reportlab, embedded in the file), so names with
accents print as typed and a PDF reader extracts the same text. Characters the font lacks print as
'?' rather than as empty boxes. Output is invariant (no creation time or random id in the file):
the same document always gives the same bytes, so a stored document can be re-rendered and compared.
"""

from __future__ import annotations

import io
import threading
from html import escape
from pathlib import Path
from typing import Any

import reportlab
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph as PdfParagraph
from reportlab.platypus import SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from audit_packets.document import Document, Facts, Paragraph, Table

FONT = "AuditVera"
FONT_BOLD = "AuditVera-Bold"
_FONT_DIR = Path(reportlab.__file__).resolve().parent / "fonts"
_fonts_lock = threading.Lock()
_font_charset: set[int] = set()  # filled once, under the lock, when the fonts are registered

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN
GRID = colors.HexColor("#d0d7de")
HEADER_FILL = colors.HexColor("#f6f8fa")
MUTED = colors.HexColor("#57606a")
BANNER_FILL = colors.HexColor("#fff8c5")


def _register_fonts() -> None:
    with _fonts_lock:
        if _font_charset:
            return
        regular = TTFont(FONT, str(_FONT_DIR / "Vera.ttf"))
        pdfmetrics.registerFont(regular)
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(_FONT_DIR / "VeraBd.ttf")))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
        _font_charset.update(regular.face.charWidths)


def _printable(text: str) -> str:
    """The text with characters the font cannot draw replaced by '?', escaped for reportlab markup."""
    cleaned = "".join(c if ord(c) in _font_charset or c in "\n\t" else "?" for c in text)
    return escape(cleaned).replace("\n", "<br/>")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=16, leading=20),
        "subtitle": ParagraphStyle("subtitle", parent=base, textColor=MUTED, spaceAfter=6),
        "heading": ParagraphStyle(
            "heading",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=11.5,
            leading=15,
            spaceBefore=10,
            spaceAfter=4,
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=8, leading=10),
        "note": ParagraphStyle("note", parent=base, textColor=MUTED),
        "banner": ParagraphStyle(
            "banner", parent=base, fontName=FONT_BOLD, backColor=BANNER_FILL, borderPadding=5, spaceAfter=8
        ),
        "footer": ParagraphStyle(
            "footer", parent=base, fontSize=7.5, leading=10, textColor=MUTED, spaceBefore=12
        ),
    }


def _grid(table: PdfTable, header: bool) -> PdfTable:
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL))
    else:
        commands.append(("BACKGROUND", (0, 0), (0, -1), HEADER_FILL))
    table.setStyle(TableStyle(commands))
    return table


def _facts(block: Facts, styles: dict[str, ParagraphStyle]) -> PdfTable:
    rows = [
        [PdfParagraph(_printable(label), styles["head"]), PdfParagraph(_printable(value), styles["cell"])]
        for label, value in block.rows
    ]
    return _grid(PdfTable(rows, colWidths=[FRAME_WIDTH * 0.28, FRAME_WIDTH * 0.72]), header=False)


def _table(block: Table, styles: dict[str, ParagraphStyle]) -> Any:
    if not block.rows:
        return PdfParagraph(_printable(block.empty), styles["note"])
    count = len(block.headers)
    shares = (
        block.widths
        if block.widths and len(block.widths) == count
        else tuple(1 / count for _ in range(count))
    )
    total = sum(shares)
    widths = [FRAME_WIDTH * share / total for share in shares]
    rows = [[PdfParagraph(_printable(h), styles["head"]) for h in block.headers]]
    rows += [[PdfParagraph(_printable(cell), styles["cell"]) for cell in row] for row in block.rows]
    return _grid(PdfTable(rows, colWidths=widths, repeatRows=1), header=True)


def document_pdf(document: Document) -> bytes:
    """The document as PDF bytes (A4)."""
    _register_fonts()
    styles = _styles()
    story: list[Any] = []
    if document.banner:
        story.append(PdfParagraph(_printable(document.banner), styles["banner"]))
    story += [
        PdfParagraph(_printable(document.title), styles["title"]),
        PdfParagraph(_printable(document.subtitle), styles["subtitle"]),
    ]
    for section in document.sections:
        story.append(PdfParagraph(_printable(section.heading), styles["heading"]))
        for block in section.blocks:
            if isinstance(block, Facts):
                story.append(_facts(block, styles))
            elif isinstance(block, Table):
                story.append(_table(block, styles))
            elif isinstance(block, Paragraph):
                story.append(PdfParagraph(_printable(block.text), styles["note" if block.note else "body"]))
            story.append(Spacer(1, 3))
    if document.footer:
        story.append(PdfParagraph(_printable(document.footer), styles["footer"]))
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=document.title,
        subject=document.subtitle,
        keywords=list(document.keywords),
        creator="durable-workflows audit_packets",
        invariant=1,
    )
    template.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()


def _page_number(canvas: Any, template: Any) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 7.5)
    canvas.setFillColor(MUTED)
    canvas.drawRightString(PAGE_WIDTH - MARGIN, 10 * mm, f"page {template.page}")
    canvas.restoreState()
