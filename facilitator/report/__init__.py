"""The session report: a self-contained HTML file built from a session's events."""

from facilitator.report.html import FilmInfo, build_report, write_report
from facilitator.report.model import Session, summarise

__all__ = ["FilmInfo", "Session", "build_report", "summarise", "write_report"]
