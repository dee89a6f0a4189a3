"""The worker's edges without sockets: the /healthz + /metrics WSGI app, and the CLI's arguments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import Gauge
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import CollectorRegistry

from spendgate_executor import __main__ as cli
from spendgate_executor.observability import http_app


class _Collector:
    def __init__(self) -> None:
        self.scrapes = 0
        self.registry = CollectorRegistry()
        self.gauge = Gauge("spendgate_test_value", "a value", registry=self.registry)

    def collect(self) -> Iterable[Metric]:
        self.scrapes += 1
        self.gauge.set(self.scrapes)
        return self.registry.collect()


def _get(app: Any, path: str) -> tuple[str, bytes]:
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": ""}, start_response))
    return seen["status"], body


def test_healthz_answers_without_touching_the_collector() -> None:
    collector = _Collector()
    status, body = _get(http_app(collector), "/healthz")
    assert status == "200 OK"
    assert body == b'{"ok": true}'
    assert collector.scrapes == 0


def test_metrics_are_computed_at_scrape_time() -> None:
    collector = _Collector()
    app = http_app(collector)
    assert b"spendgate_test_value 1.0" in _get(app, "/metrics")[1]
    assert b"spendgate_test_value 2.0" in _get(app, "/metrics")[1]


def test_the_cli_takes_burst_and_a_metrics_port() -> None:
    assert vars(cli.parse_args(["--burst", "--metrics-port", "0"])) == {"burst": True, "metrics_port": 0}
    assert vars(cli.parse_args([])) == {"burst": False, "metrics_port": 9102}
