"""SES's quota shared through Redis: one GetSendQuota a minute for the whole fleet."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.reports.adapters.mailer import SendQuota
from chalicelib.reports.adapters.send_pacer import RedisSendPacer, RedisSendPacing
from chalicelib.reports.adapters.send_quota import SharedSendQuota
from tests.conftest import RedisServer

QUOTA = SendQuota(max_send_rate=14.0, max_24_hour_send=50_000.0, sent_last_24_hours=1_200.0)


class Ses:
    """``GetSendQuota`` as the fleet sees it: counts calls; answers, or fails, as told."""

    def __init__(self, answer: SendQuota = QUOTA) -> None:
        self.answer = answer
        self.failing = False
        self.calls = 0

    def __call__(self) -> SendQuota:
        self.calls += 1
        if self.failing:
            raise DependencyUnavailable("SES quota unavailable (throttled)")
        return self.answer


@pytest.fixture
def rds(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True, socket_timeout=0.5)
    yield client
    client.close()


@pytest.fixture
def scope() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def shared(client: redis.Redis, scope: str, ses: Ses, **options: Any) -> SharedSendQuota:
    return SharedSendQuota(lambda: client, scope, ses, **options)


def quota_key(scope: str) -> str:
    return f"ses:pace:{{{scope}}}:quota"


def expire_freshness(client: redis.Redis, scope: str) -> None:
    """What 60 seconds do to the claim."""
    client.delete(f"ses:pace:{{{scope}}}:quota-fresh")


def test_a_fleet_of_workers_asks_ses_once_a_minute(rds: redis.Redis, scope: str) -> None:
    ses = Ses()
    fleet = [shared(rds, scope, ses) for _ in range(20)]
    assert [worker.read() for worker in fleet] == [QUOTA] * 20
    assert [worker.read() for worker in fleet] == [QUOTA] * 20
    assert ses.calls == 1
    assert 0 < rds.ttl(f"ses:pace:{{{scope}}}:quota-fresh") <= 60
    assert 23 * 3600 < rds.ttl(quota_key(scope)) <= 24 * 3600


def test_once_fresh_time_is_over_one_worker_asks_again_and_the_count_restarts(
    rds: redis.Redis, scope: str
) -> None:
    ses = Ses()
    worker = shared(rds, scope, ses)
    worker.read()
    rds.hset(quota_key(scope), "spent", 40)  # sends the pacer counted against that answer
    ses.answer = SendQuota(14.0, 50_000.0, 1_240.0)  # ...which SES now counts itself
    expire_freshness(rds, scope)
    assert [shared(rds, scope, ses).read() for _ in range(5)] == [ses.answer] * 5
    assert ses.calls == 2
    assert rds.hgetall(quota_key(scope)) == {
        "max_send_rate": "14.0",
        "max_24_hour_send": "50000.0",
        "sent_last_24_hours": "1240.0",
        "spent": "0",
    }


def test_when_ses_fails_the_cached_quota_is_used_and_ses_is_not_hammered(
    rds: redis.Redis, scope: str
) -> None:
    ses = Ses()
    shared(rds, scope, ses).read()
    ses.failing = True
    expire_freshness(rds, scope)
    assert [shared(rds, scope, ses).read() for _ in range(5)] == [QUOTA] * 5
    assert ses.calls == 2  # the worker that claimed the refresh; the claim holds for a minute


def test_with_nothing_cached_and_ses_failing_there_is_no_quota(
    rds: redis.Redis, scope: str
) -> None:
    ses = Ses()
    ses.failing = True
    assert shared(rds, scope, ses).read() is None
    assert not rds.exists(quota_key(scope))


def test_a_worker_finding_nothing_cached_asks_ses_but_leaves_the_cache_to_the_claimant(
    rds: redis.Redis, scope: str
) -> None:
    rds.set(f"ses:pace:{{{scope}}}:quota-fresh", "1", ex=60)  # another worker's claim
    ses = Ses()
    assert shared(rds, scope, ses).read() == QUOTA
    assert ses.calls == 1
    assert not rds.exists(quota_key(scope))


def test_while_redis_is_down_no_aws_call_is_made(scope: str) -> None:
    server = RedisServer()
    server.start()
    client = redis.Redis.from_url(server.url, socket_timeout=0.2, socket_connect_timeout=0.2)
    server.stop()
    ses = Ses()
    with pytest.raises(DependencyUnavailable):
        shared(client, scope, ses).read()
    pacer = RedisSendPacing(lambda: client, scope, shared(client, scope, ses).read).pacer()
    assert (pacer.rate, ses.calls) == (1.0, 0)  # the lowest SES rate, and it defers anyway
    assert not pacer.acquire()
    client.close()


def test_the_cached_budget_paces_the_fleet(rds: redis.Redis, scope: str) -> None:
    ses = Ses(SendQuota(max_send_rate=1000.0, max_24_hour_send=200.0, sent_last_24_hours=198.0))
    pacing = RedisSendPacing(lambda: rds, scope, shared(rds, scope, ses).read)
    first, second = pacing.pacer(), pacing.pacer()
    assert (first.rate, ses.calls) == (1000.0, 1)
    assert [first.acquire(), second.acquire(), first.acquire(), second.acquire()] == [
        True,
        True,
        False,
        False,
    ]


def test_the_real_mailer_on_moto_feeds_the_pacing_once(aws: Any) -> None:
    """Wired as production will be: ``SesMailer.quota`` (moto's SES) behind the shared cache."""
    from chalicelib.clients import get_redis, get_ses
    from chalicelib.reports.adapters.mailer import SesMailer

    mailer = SesMailer(get_ses, aws.ses_sender)
    calls: list[SendQuota] = []

    def get_send_quota() -> SendQuota:
        calls.append(mailer.quota())
        return calls[-1]

    pacing = RedisSendPacing(
        get_redis, aws.region, SharedSendQuota(get_redis, aws.region, get_send_quota).read
    )
    pacers: list[RedisSendPacer] = [pacing.pacer() for _ in range(10)]
    assert len(calls) == 1  # ten runs, one AWS call
    assert {pacer.rate for pacer in pacers} == {calls[0].max_send_rate} == {1.0}  # moto: 1/s
    assert pacers[0].acquire(give_up_in=0)
    assert not pacers[1].acquire(give_up_in=0.5)  # the next slot is a second away, fleet-wide
