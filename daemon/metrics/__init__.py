"""The daemon's Prometheus metrics, served on ``metrics.listen`` at ``/metrics``.

Everything is registered on a :class:`prometheus_client.CollectorRegistry` of the
container's own (never the process-wide default), built on first use: several daemons
can live in one process (the tests), and nothing happens at import time.
"""
