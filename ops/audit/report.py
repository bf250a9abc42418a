"""The audit packet's HTML report: moved to product code (`audit_packets.report`, also served by the
operations console); kept here so `ops audit` and its callers import it as before."""

from audit_packets.report import STYLE, render_html

__all__ = ["STYLE", "render_html"]
