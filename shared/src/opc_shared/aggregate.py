"""Aggregates collect the events they raise; the unit of work decides when they leave.

A rule that changes an aggregate records the integration event on it (``self.record(...)``).
The repository that loads or adds the aggregate hands it to the unit of work
(``uow.track(aggregate)``), and :meth:`UnitOfWork.commit` drains every tracked aggregate's
events into the outbox, in the same transaction as the change. Use cases, routes and jobs
never copy an event by hand, so an event cannot be forgotten or sent twice.

Usage::

    @dataclass
    class Claim(Aggregate):
        id: UUID
        status: str
        events: list[EventContract] = field(default_factory=list, repr=False)

        def approve(self, now: datetime) -> None:
            self.status = "approved"
            self.record(ClaimApprovedV1(claim_id=self.id, approved_at=now))
"""

from __future__ import annotations

from opc_shared.contracts.base import EventContract


class Aggregate:
    """Mixin: ``events`` holds what happened since the aggregate was loaded."""

    events: list[EventContract]

    def record(self, event: EventContract) -> None:
        self.events.append(event)

    def pull_events(self) -> list[EventContract]:
        """Hand over the recorded events once; the aggregate forgets them."""
        out = list(self.events)
        self.events.clear()
        return out
