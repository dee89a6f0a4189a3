"""Wiring: turn settings into the core's real adapters. Called from entrypoints only, never at import."""

from __future__ import annotations

import redis
import redis.asyncio

from spendgate_core.adapters.events import RedisEvents
from spendgate_core.adapters.keys import Keys
from spendgate_core.adapters.ledger import RedisLedger
from spendgate_core.adapters.platforms.adsim import AdsimReader, adsim_client
from spendgate_core.adapters.store import RedisDraftStore
from spendgate_core.contracts.signing import load_signing_key
from spendgate_core.domain.clock import Clock, SystemClock
from spendgate_core.domain.policy import PolicyBook
from spendgate_core.runtime.settings import CoreSettings, RedisSettings
from spendgate_core.usecases.deps import AccountCatalog, CoreDeps
from spendgate_core.usecases.ports import PlatformReader


def redis_keys(settings: RedisSettings) -> Keys:
    """The key names of this deployment: each entrypoint builds them once and hands them to every adapter."""
    return Keys(settings.redis_namespace)


def redis_client(settings: CoreSettings) -> redis.Redis:
    return redis.Redis.from_url(
        str(settings.redis_url), socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
    )


def async_redis_client(settings: CoreSettings) -> redis.asyncio.Redis:
    """For code on an event loop (the gateway's tools); same timeouts as `redis_client`."""
    return redis.asyncio.Redis.from_url(
        str(settings.redis_url), socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
    )


def adsim_reader(settings: CoreSettings, token: str) -> AdsimReader:
    return AdsimReader(adsim_client(settings.adsim_url, token))


def redis_ledger(settings: CoreSettings, *, client: redis.Redis, clock: Clock, keys: Keys) -> RedisLedger:
    signer = load_signing_key(settings.ledger_key_file)
    return RedisLedger(redis=client, signer=signer, clock=clock, keys=keys)


def build_core(
    settings: CoreSettings,
    *,
    client: redis.Redis,
    keys: Keys,
    reader: PlatformReader | None,
    accounts: AccountCatalog | None = None,
    clock: Clock | None = None,
    store: RedisDraftStore | None = None,
    ledger: RedisLedger | None = None,
) -> CoreDeps:
    """`keys`: the process's `redis_keys(settings)`, which its other adapters use too. `store`, `ledger`:
    pass the ones the caller also uses another way (the gateway, on its loop); `accounts`: the gateway's
    catalog, which reads on its loop (it has no blocking `reader`)."""
    clock = clock or SystemClock()
    return CoreDeps(
        store=store or RedisDraftStore(client, keys=keys),
        ledger=ledger or redis_ledger(settings, client=client, clock=clock, keys=keys),
        policies=PolicyBook.load(settings.policy_file),
        clock=clock,
        platform_reader=reader,
        accounts=accounts,
        console_url=f"{settings.public_url.rstrip('/')}/console",
        events=RedisEvents(client, keys=keys),
    )
