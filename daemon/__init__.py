"""paywatch: the self-hosted payment daemon (the application package).

Not to be confused with PyPI's ``python-daemon``: systemd does the daemonizing.
"""

PAYWATCH_PACKAGE = True
