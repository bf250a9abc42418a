"""What a person reads: a document of titled sections made of facts, tables and paragraphs.

The audit report and the business documents (release certificate, donor delivery report, dispute
resolution letter) are built as a `Document` from a packet, then rendered to HTML
(`audit_packets.html`) and PDF (`audit_packets.pdf`) by the same two renderers, so both formats
always say the same thing. Every cell is plain text: renderers escape it, and nothing in a document
is a JSON dump.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Facts:
    """Label / value rows (a summary, a verification block)."""

    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    """A table with a header row; `empty` is said instead when there are no rows."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str = "None."
    widths: tuple[float, ...] | None = None  # relative column widths for the PDF (sum ~1)


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text; `note` renders it as a quieter remark."""

    text: str
    note: bool = False


Block = Facts | Table | Paragraph


@dataclass(frozen=True)
class Section:
    """A titled part of a document."""

    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Document:
    """A whole document: title, a line under it, sections, and a closing line."""

    title: str
    subtitle: str
    sections: tuple[Section, ...]
    footer: str = ""
    banner: str = ""  # a warning above everything (e.g. "interim snapshot, not the sealed record")
    keywords: tuple[str, ...] = field(default_factory=tuple)


def bullet_list(items: list[str], empty: str) -> tuple[Block, ...]:
    """Paragraphs for a list of remarks (or one saying there are none)."""
    if not items:
        return (Paragraph(empty, note=True),)
    return tuple(Paragraph(f"• {item}") for item in items)
