"""The dispatch order and unit status tables: data, checked by `next_state` (pure, no database).

Orders: `sent → delivered → signed → arrived → done`, or `returned` (退单, before signing) / `cancelled`
(by the command center, until the unit is on scene). Signing straight from `sent` is allowed: a station that
signs has seen the order, so the signature also stamps `delivered_at` when the screen never reported it.

Units: a unit with a live order moves only with it (dispatch → en_route, arrive → on_scene, the order's end
→ available); otherwise a person sets it available, busy, off duty or out of service. The manual events are
named after the status they lead to, so the API's 409 lists the statuses one may choose.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from command_center.transitions import Table, allowed_events, next_state

from .models import DispatchOrder, Unit


class Event:
    DELIVER = "deliver"
    SIGN = "sign"
    ARRIVE = "arrive"
    DONE = "done"
    RETURN = "return"
    CANCEL = "cancel"


S = DispatchOrder.State

ORDER: Table = {
    S.SENT: {Event.DELIVER: S.DELIVERED, Event.SIGN: S.SIGNED, Event.RETURN: S.RETURNED, Event.CANCEL: S.CANCELLED},
    S.DELIVERED: {Event.SIGN: S.SIGNED, Event.RETURN: S.RETURNED, Event.CANCEL: S.CANCELLED},
    S.SIGNED: {Event.ARRIVE: S.ARRIVED, Event.CANCEL: S.CANCELLED},
    S.ARRIVED: {Event.DONE: S.DONE},
    S.DONE: {},
    S.RETURNED: {},
    S.CANCELLED: {},
}


class UnitEvent:
    # Moved by an order (services only).
    DISPATCH = "dispatch"
    ARRIVE = "arrive"
    RELEASE = "release"  # the order ended (done, returned, cancelled): the unit is free again
    # Set by a person (POST /api/units/{id}/status/): named after the status they lead to.
    AVAILABLE = "available"
    BUSY = "busy"
    OFF_DUTY = "off_duty"
    OUT_OF_SERVICE = "out_of_service"


MANUAL_EVENTS = [UnitEvent.AVAILABLE, UnitEvent.BUSY, UnitEvent.OFF_DUTY, UnitEvent.OUT_OF_SERVICE]

U = Unit.Status

UNIT: Table = {
    U.AVAILABLE: {
        UnitEvent.DISPATCH: U.EN_ROUTE,
        UnitEvent.BUSY: U.BUSY,
        UnitEvent.OFF_DUTY: U.OFF_DUTY,
        UnitEvent.OUT_OF_SERVICE: U.OUT_OF_SERVICE,
    },
    U.EN_ROUTE: {UnitEvent.ARRIVE: U.ON_SCENE, UnitEvent.RELEASE: U.AVAILABLE},
    U.ON_SCENE: {UnitEvent.RELEASE: U.AVAILABLE},
    U.BUSY: {
        UnitEvent.AVAILABLE: U.AVAILABLE,
        UnitEvent.OFF_DUTY: U.OFF_DUTY,
        UnitEvent.OUT_OF_SERVICE: U.OUT_OF_SERVICE,
    },
    U.OFF_DUTY: {UnitEvent.AVAILABLE: U.AVAILABLE, UnitEvent.OUT_OF_SERVICE: U.OUT_OF_SERVICE},
    U.OUT_OF_SERVICE: {UnitEvent.AVAILABLE: U.AVAILABLE, UnitEvent.OFF_DUTY: U.OFF_DUTY},
}


def next_order_state(state: str, event: str) -> str:
    return next_state(ORDER, state, event)


def next_unit_status(status: str, event: str) -> str:
    return next_state(UNIT, status, event)


# What each order event is called on a timeline ("东湖派出所 张三 签收"), beside the table; "send" is the
# order's first log row.
ORDER_EVENT_LABELS: dict[str, Any] = {
    "send": _("sent the order"),
    Event.DELIVER: _("order delivered"),
    Event.SIGN: _("signed"),
    Event.ARRIVE: _("arrived on scene"),
    Event.DONE: _("finished"),
    Event.RETURN: _("sent the order back"),
    Event.CANCEL: _("cancelled the order"),
}

__all__ = [
    "MANUAL_EVENTS",
    "ORDER",
    "ORDER_EVENT_LABELS",
    "UNIT",
    "Event",
    "UnitEvent",
    "allowed_events",
    "next_order_state",
    "next_unit_status",
]
