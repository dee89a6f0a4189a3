"""The harness itself: the private redis-server answers and belongs to this session."""

import redis


def test_private_redis_answers(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.ping() is True
    assert not redis_url.endswith(":6379/0"), "tests must never touch the machine's shared Redis"
