"""One rule for the queue's order (dispatch/board.py URGENCY): the board page carries it, and the screens'
script ranks a state's rows as the server does — tier by tier (a broken dispatch clock; any other broken
clock; a call waiting for dispatch; a running clock; the rest; the rows the filter added), then level, then
age — for an incident's own clocks and for those the script derives from its orders."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from dispatch import board
from tests.conftest import build_world

from .test_dispatch import login


def rows() -> list[dict]:
    now = timezone.now()

    def row(pk, state, level, age_min, clocks=(), orders=()):
        reported = now - timedelta(minutes=age_min)
        return {"id": pk, "number": f"N{pk}", "state": state, "level": level, "reported_at": reported,
                "clocks": list(clocks), "orders": list(orders)}  # fmt: skip

    def own(breached, kind="incidents.feedback"):
        due = now - timedelta(minutes=1) if breached else now + timedelta(minutes=10)
        return {
            "id": 1,
            "kind": kind,
            "order": None,
            "due_at": due,
            "breached_at": due if breached else None,
        }

    def sent(order_id, breached):
        due = now - timedelta(seconds=5) if breached else now + timedelta(seconds=25)
        clock = {"id": order_id, "kind": "dispatch.sign", "order": order_id, "due_at": due,
                 "breached_at": due if breached else None}  # fmt: skip
        order = {"id": order_id, "state": "sent", "sign_due_at": due, "overdue": ["dispatch.sign"] if breached else []}
        return clock, order

    late_order, late_row = sent(101, breached=True)
    running_order, running_row = sent(102, breached=False)
    return [
        row(1, "dispatched", 4, 5, clocks=[own(breached=True)]),
        row(2, "received", 2, 3),
        row(3, "dispatched", 3, 8, clocks=[running_order], orders=[running_row]),
        row(4, "scene_cleared", 1, 30),
        row(5, "dispatched", 1, 2, clocks=[late_order], orders=[late_row]),
        row(6, "received", 2, 9),
        row(7, "self_handled", 3, 20, clocks=[own(breached=False)]),
        row(8, "diverted", 2, 40),
        row(9, "received", 2, 9.5),
        row(10, "received", 4, 1, clocks=[own(breached=True, kind="incidents.dispatch")]),
        row(11, "received", 1, 1, clocks=[own(breached=False, kind="incidents.dispatch")]),
        {**row(12, "closed", 1, 50), "ended": True},
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_board_script_ranks_the_queue_as_the_server_does(asgi_live_server, browser):
    build_world()
    state = rows()
    server = sorted(state, key=board.urgency)
    # every tier is tried
    assert [board.urgency(r)[0] for r in server] == [0, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 5]
    context = browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, asgi_live_server, "duty")
        page.goto(f"{asgi_live_server}/dispatch/board/")
        page.wait_for_function("() => window.CCBoardModel && document.getElementById('board-urgency')")
        assert json.loads(page.locator("#board-urgency").text_content()) == json.loads(
            JSONRenderer().render(board.URGENCY)
        )
        script = page.evaluate(
            """(state) => {
                const m = CCBoardModel.create();
                m.load({incidents: state});
                return m.queue().map((r) => [r.id, m.urgency(r)[0]]);
            }""",
            json.loads(JSONRenderer().render(state)),
        )
        assert script == [[r["id"], board.urgency(r)[0]] for r in server]
        assert errors == []
    finally:
        context.close()
