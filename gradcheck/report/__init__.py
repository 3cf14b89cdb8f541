"""The report: run every check into records, render them as one HTML page and ``report.json``."""
