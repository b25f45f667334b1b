"""The evidence report: curves, contact sheets, methods and provenance of one run, as HTML and PDF.

>>> from evalharness.report import build_report
>>> html_path, pdf_path = build_report(Path("reports/default"))  # doctest: +SKIP
"""

from evalharness.report.render import build_report

__all__ = ["build_report"]
