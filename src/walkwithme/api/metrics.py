"""/metrics for Prometheus: how the watchdog and the outbox are doing. Counts only: no walker,
no place, nothing personal."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from starlette.responses import Response

from walkwithme.api.auth import ServicesDep, sees_operations
from walkwithme.domain.errors import Forbidden
from walkwithme.services import Services
from walkwithme.usecases import judging, outbox

router = APIRouter(tags=["service"])


class Snapshot(Collector):
    def __init__(self, svc: Services, live: dict[str, int], backlog: int, broken: int) -> None:
        self.svc, self.live, self.backlog, self.broken = svc, live, backlog, broken

    def collect(self) -> Iterator[Metric]:
        watchdog, notifier = self.svc.watchdog, self.svc.notifier
        decisions = CounterMetricFamily(
            "walkwithme_watchdog_decisions",
            "Checks asked, alarms raised, escalations, offers' reminders: what the watchdog "
            "decided, by kind.",
            labels=["decision"],
        )
        # The three an operator watches always (at 0 before the first), then whatever else
        # it decided (offers' reminders and the rest, as /healthz lists them).
        for decision in dict.fromkeys(("check", "alarm", "escalated", *sorted(watchdog.decided))):
            decisions.add_metric([decision], watchdog.decided[decision])
        yield decisions
        yield CounterMetricFamily(
            "walkwithme_watchdog_failures",
            "Walks the watchdog could not judge.",
            value=watchdog.failures,
        )
        yield SummaryMetricFamily(
            "walkwithme_watchdog_lateness_seconds",
            "How long after its due time each decision was taken.",
            count_value=watchdog.late_count,
            sum_value=watchdog.late_sum_ms / 1000,
        )
        yield GaugeMetricFamily(
            "walkwithme_watchdog_lateness_max_seconds",
            "The latest decision so far.",
            value=watchdog.late_max_ms / 1000,
        )
        yield CounterMetricFamily(
            "walkwithme_deliveries_sent", "Alerts handed over.", value=notifier.sent
        )
        yield CounterMetricFamily(
            "walkwithme_deliveries_failed",
            "Attempts that failed (retried or given up).",
            value=notifier.failed,
        )
        yield GaugeMetricFamily(
            "walkwithme_outbox_backlog", "Deliveries waiting to be sent.", value=self.backlog
        )
        yield GaugeMetricFamily(
            "walkwithme_channels_broken", "Channels marked broken.", value=self.broken
        )
        walks = GaugeMetricFamily("walkwithme_walks_live", "Live walks.", labels=["state"])
        for state in ("active", "at_door", "alarm"):
            walks.add_metric([state], self.live.get(state, 0))
        yield walks


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, svc: ServicesDep) -> Response:
    if not sees_operations(request):
        raise Forbidden("/metrics is for the operator: from this machine, or with its token")
    live, backlog, broken = await svc.db.read(
        lambda c: (judging.counts(c), outbox.backlog(c), outbox.broken_channels(c))
    )
    registry = CollectorRegistry()
    registry.register(Snapshot(svc, live, backlog, broken))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
