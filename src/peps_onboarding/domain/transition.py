"""The result of every state change: the new state and the events it caused."""

from __future__ import annotations

from typing import Generic, TypeVar

from attrs import frozen

from .events import DomainEvent

__all__ = ["Transition"]

T = TypeVar("T", covariant=True)


@frozen
class Transition(Generic[T]):
    state: T
    events: tuple[DomainEvent, ...] = ()
