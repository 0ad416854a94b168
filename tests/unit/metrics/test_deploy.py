"""deploy/: the alert rules and the Grafana dashboard read only metrics the daemon exports,
and the dashboard is one Grafana imports (a datasource variable every panel uses)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from daemon.config.loading import parse_config
from daemon.metrics.registry import Metrics
from daemon.runtime.container import build
from tests.support.configs import config_yaml
from tests.support.prometheus import ROOT, names_in_promql

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "paywatch-dashboard.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Metrics]:
    db = tmp_path_factory.mktemp("metrics") / "p.db"
    container = build(parse_config(config_yaml(f"sqlite:///{db}")))
    assert container.metrics is not None
    yield container.metrics
    container.close()


def exported(metrics: Metrics) -> set[str]:
    """Every sample name the daemon can export (paywatch_* even without samples yet)."""
    names = {
        family.name + suffix for family in metrics.families() for suffix in SUFFIXES[family.type]
    }
    names.update(s.name for family in metrics.registry.collect() for s in family.samples)
    return names


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(ALERTS.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def dashboard_queries() -> list[str]:
    queries = [t["expr"] for p in panels() for t in p["targets"]]
    queries += [v["definition"] for v in dashboard()["templating"]["list"] if v["type"] == "query"]
    return queries


def test_the_alert_rules_read_only_exported_metrics(metrics: Metrics) -> None:
    read = names_in_promql(rule["expr"] for rule in rules())
    assert read - {"up"} <= exported(metrics), read - exported(metrics)
    assert "up" in read  # the daemon-down alert


def test_the_dashboard_reads_only_exported_metrics(metrics: Metrics) -> None:
    read = names_in_promql(dashboard_queries())
    assert read - {"up"} <= exported(metrics), read - exported(metrics)


def test_the_dashboard_shows_every_paywatch_metric(metrics: Metrics) -> None:
    read = names_in_promql(dashboard_queries())
    for family in metrics.families():
        assert any(name.startswith(family.name) for name in read), family.name


def test_every_alert_is_named_once_with_a_severity_and_a_text() -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    assert {"PaywatchDown", "PaywatchWatcherStuck", "PaywatchWebhookDeadLetters"} <= set(names)
    for rule in rules():
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]


def test_the_dashboard_has_a_datasource_variable_every_query_uses() -> None:
    board = dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    using = {"type": "prometheus", "uid": "${datasource}"}
    for panel in panels():
        assert panel["datasource"] == using, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == using, panel["title"]
    for name in ("job", "instance", "chain"):
        assert variables[name]["datasource"] == using


def test_the_dashboard_panels_are_laid_out_once_each() -> None:
    board = dashboard()
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    assert board["uid"] == "paywatch"
    assert board["id"] is None  # importable into any Grafana
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))


def test_the_names_found_in_promql_are_metrics_not_labels() -> None:
    found = names_in_promql(
        [
            'sum by (chain, le) (rate(paywatch_rpc_request_duration_seconds_bucket{job="x",'
            ' endpoint=~"paywatch_fake.*"}[5m]))',
            'up == 0 and on(instance) process_open_fds{up="paywatch_no"} > 1',
        ]
    )
    assert found == {"paywatch_rpc_request_duration_seconds_bucket", "up", "process_open_fds"}
