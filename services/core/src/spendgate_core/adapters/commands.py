"""How the Redis adapters talk to Redis: each operation is written once, as `Command`s, and run on a
blocking client (`Runner`) or an asyncio one (`AsyncRunner`).

A `Command` is one round trip — a Lua script from `lua/` with its keys and arguments, or a few plain
commands pipelined — plus the function that turns the reply into the operation's answer (or its
refusal). An operation that may need several round trips (a list read page by page, the ledger's
compare-and-set that rebuilds its batch after a lost race) is a generator of commands (`Steps`): it
yields each command, receives its parsed reply, and returns the answer. The runners are the only code
that sends anything, so the blocking and the event-loop paths of an adapter cannot drift apart.

Scripts are read from the package once and registered once per client: EVALSHA, not the script text,
goes over the wire.
"""

from __future__ import annotations

import asyncio
import functools
import time
import weakref
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar, cast

import redis
import redis.asyncio
from redis.commands.core import AsyncScript, Script

T = TypeVar("T")
C = TypeVar("C")
S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)
_INCLUDE = "-- include:"


@functools.cache
def lua(name: str) -> str:
    """The text of `lua/{name}.lua`, preceded by the files its `-- include: other` lines name."""
    text = (resources.files(__package__) / "lua" / f"{name}.lua").read_text(encoding="utf-8")
    included = [
        line.removeprefix(_INCLUDE).strip() for line in text.splitlines() if line.startswith(_INCLUDE)
    ]
    return "".join(lua(other) + "\n" for other in included) + text


def _as_is(reply: Any) -> Any:
    return reply


@dataclass(frozen=True)
class Command(Generic[T]):
    """One round trip: the script `script` on `keys` and `args`, or else the plain `calls` pipelined
    (one call is sent alone); `parse` turns the reply (a list of replies for several calls) into T.
    `delay` is how long to wait before sending (a backoff between retries)."""

    parse: Callable[[Any], T]
    script: str | None = None
    keys: Sequence[str] = ()
    args: Sequence[str | int] = ()
    calls: Sequence[tuple[str | int, ...]] = ()
    delay: float = 0.0


def call(*command: str | int) -> Command[Any]:
    """One plain command whose reply is the answer, as redis-py returns it."""
    return Command(_as_is, calls=(command,))


Steps = Generator[Command[Any], Any, T]


class _Client(Protocol[S_co]):
    def register_script(self, script: str) -> S_co: ...


class _Scripts(Generic[C, S]):
    """The scripts registered on one client; `of(client)` shares them between every adapter on it."""

    _of: ClassVar[weakref.WeakKeyDictionary[Any, Any]]

    def __init_subclass__(cls) -> None:
        cls._of = weakref.WeakKeyDictionary()

    def __init__(self, client: C) -> None:
        self.client = client
        self._scripts: dict[str, S] = {}

    @classmethod
    def of(cls, client: C) -> Self:
        runner: Self | None = cls._of.get(client)
        if runner is None:
            runner = cls._of[client] = cls(client)
        return runner

    def script(self, name: str) -> S:
        found = self._scripts.get(name)
        if found is None:
            found = self._scripts[name] = cast(_Client[S], self.client).register_script(lua(name))
        return found


class Runner(_Scripts[redis.Redis, Script]):
    """Runs commands on a blocking client."""

    def run(self, command: Command[T]) -> T:
        if command.script is not None:
            return command.parse(self.script(command.script)(keys=command.keys, args=command.args))
        if len(command.calls) == 1:
            return command.parse(self.client.execute_command(*command.calls[0]))  # type: ignore[no-untyped-call]
        pipe = self.client.pipeline(transaction=False)
        for each in command.calls:
            pipe.execute_command(*each)  # type: ignore[no-untyped-call]
        return command.parse(pipe.execute())

    def drive(self, steps: Steps[T]) -> T:
        """Run each command `steps` yields, send it the answer, and return what it returns."""
        reply: Any = None
        try:
            while True:
                command = steps.send(reply)
                if command.delay:
                    time.sleep(command.delay)
                reply = self.run(command)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


class AsyncRunner(_Scripts[redis.asyncio.Redis, AsyncScript]):
    """`Runner` for an asyncio client, used on the event loop its connections belong to."""

    async def run(self, command: Command[T]) -> T:
        if command.script is not None:
            return command.parse(await self.script(command.script)(keys=command.keys, args=command.args))
        if len(command.calls) == 1:
            return command.parse(await self.client.execute_command(*command.calls[0]))  # type: ignore[no-untyped-call]
        async with self.client.pipeline(transaction=False) as pipe:
            for each in command.calls:
                pipe.execute_command(*each)
            return command.parse(await pipe.execute())

    async def drive(self, steps: Steps[T]) -> T:
        """As `Runner.drive`."""
        reply: Any = None
        try:
            while True:
                command = steps.send(reply)
                if command.delay:
                    await asyncio.sleep(command.delay)
                reply = await self.run(command)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
