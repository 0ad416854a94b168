"""The scheduled jobs as the scheduler saw them, read at scrape time from
:attr:`daemon.runtime.jobs.Jobs.stats`; nothing before the daemon schedules them.
The job's label is ``name``: ``job`` is Prometheus's own target label."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from daemon.runtime.jobs import Jobs


class JobCollector:
    def __init__(self, jobs: Callable[[], Jobs | None]) -> None:
        self._jobs = jobs

    @staticmethod
    def _families() -> list[CounterMetricFamily | GaugeMetricFamily]:
        return [
            CounterMetricFamily(
                "paywatch_job_runs",
                "Rounds of each scheduled job, failed ones included",
                labels=["name"],
            ),
            CounterMetricFamily(
                "paywatch_job_failures", "Rounds of each scheduled job that failed", labels=["name"]
            ),
            GaugeMetricFamily(
                "paywatch_job_failing", "1 when its last round failed, else 0", labels=["name"]
            ),
            GaugeMetricFamily(
                "paywatch_job_last_run_timestamp_seconds",
                "When the job's last round ended (Unix time)",
                labels=["name"],
            ),
            GaugeMetricFamily(
                "paywatch_job_last_duration_seconds", "Its last round's duration", labels=["name"]
            ),
        ]

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        jobs = self._jobs()
        if jobs is None:
            return []
        runs, failures, failing, last_run, duration = self._families()
        for name, stats in sorted(jobs.stats.items()):
            runs.add_metric([name], stats.runs)
            failures.add_metric([name], stats.failures)
            failing.add_metric([name], 0 if stats.last_error is None else 1)
            if stats.last_run_at is not None:
                last_run.add_metric([name], stats.last_run_at)
                duration.add_metric([name], stats.last_seconds)
        return [runs, failures, failing, last_run, duration]
