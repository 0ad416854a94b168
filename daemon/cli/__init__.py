"""The ``paywatch`` command line (click)."""
