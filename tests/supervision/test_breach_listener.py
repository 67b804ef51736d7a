"""How supervision hooks into the sweep: a breach listener on the loop's task clocks (not a wrapper around
the loop's handler), given the task the loop's handler read."""

from datetime import timedelta

import pytest

from command_center import clocks
from dispatch.services import ORDER_CLOCKS
from incidents.models import CLOCK_DISPATCH
from incidents.services import CLOCK_CALLBACK, CLOCK_FEEDBACK
from intel import services as loop
from supervision import services
from supervision.models import Reminder
from tests.intel.conftest import task_of


def test_supervision_listens_to_task_clocks_late_orders_and_feedback_and_nothing_else(db):
    for name in services.TASK_CLOCK_KINDS:
        assert clocks.kind(name).on_breach is loop.on_task_clock_breach  # the owner's own, unwrapped
        assert clocks.listeners(name) == [services.on_breach]
    # A late signature, arrival or report back, and the incident's feedback: 催办, then 督办.
    for name in [*ORDER_CLOCKS, CLOCK_FEEDBACK, services.CLOCK_INCIDENT_ESCALATE]:
        assert services.on_breach in clocks.listeners(name)
    for name in [CLOCK_CALLBACK, CLOCK_DISPATCH]:  # the desk's own queue and callbacks: on the board only
        assert services.on_breach not in clocks.listeners(name)


def test_a_task_breach_reads_the_task_once_for_the_loop_and_supervision(coded, red, monkeypatch):
    reads: list[int] = []
    read = loop.breach_context

    def counted(deadline):
        reads.append(deadline.pk)
        return read(deadline)

    monkeypatch.setattr(loop, "breach_context", counted)
    assert clocks.sweep(now=red.issued_at + timedelta(minutes=11)) == 2  # both stations' sign clocks
    assert len(reads) == 2 and len(set(reads)) == 2  # once per breach, not once per handler
    assert Reminder.objects.filter(task=task_of(red, coded.station_a1)).count() == 1
    assert Reminder.objects.filter(task=task_of(red, coded.station_b1)).count() == 1


@pytest.mark.parametrize("facts", [None, "not the loop's"])
def test_supervision_reads_the_task_itself_when_the_owner_gave_no_facts(coded, red, facts):
    t = task_of(red, coded.station_a1)
    d = clocks.open_for(t).get(kind=loop.CLOCK_SIGN)
    d.breached_at = red.issued_at + timedelta(minutes=11)
    services.on_breach(clocks.Breach(deadline=d, facts=facts))
    assert Reminder.objects.get(task=t).deadline == d
