"""The screens' follow() protocol (static/js/live.js) in Chromium, with a stand-in socket: pushes that
overtake each other by a few milliseconds (two web processes sending one group's seqs) are put back in
order without a reload; a push that never comes reloads the state over REST."""

from __future__ import annotations

from typing import Any

import pytest

# A socket the page controls: window.__socket.deliver(envelope) plays a push.
FAKE_SOCKET = """
window.WebSocket = class {
  constructor(url) { this.readyState = 1; window.__socket = this; setTimeout(() => this.deliver({event: 'hello'}), 0); }
  deliver(env) { this.onmessage && this.onmessage({data: JSON.stringify(env)}); }
  send() {}
  close() {}
};
window.WebSocket.OPEN = 1;
"""

FOLLOW = """
window.__applied = []; window.__loads = 0;
window.__follow = CCLive.follow({
  load: () => { window.__loads += 1; return Promise.resolve({seq: window.__stateSeq || 10}); },
  onState: (s) => { window.__applied.push('state@' + s.seq); },
  onEvent: (env) => { window.__applied.push(env.seq); },
});
"""


def wait_until(page: Any, expression: str, timeout: float = 5.0) -> None:
    """Poll from Python: Playwright's wait_for_function evaluates strings, which the page's CSP forbids."""
    import time

    end = time.monotonic() + timeout
    while not page.evaluate(f"() => {expression}"):
        assert time.monotonic() < end, f"timed out waiting for {expression}"
        page.wait_for_timeout(20)


def push(page: Any, *seqs: int) -> None:
    for seq in seqs:
        page.evaluate("(seq) => window.__socket.deliver({event: 'x', seq: seq, data: {}})", seq)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_overtaking_pushes_are_reordered_and_a_lost_one_reloads(asgi_live_server: str, page: Any) -> None:
    page.add_init_script(FAKE_SOCKET)
    page.goto(f"{asgi_live_server}/login/")
    page.add_script_tag(url=f"{asgi_live_server}/static/js/live.js")
    page.evaluate(FOLLOW)
    wait_until(page, "window.__applied.length === 1")  # hello → state loaded at seq 10

    push(page, 11, 13, 12, 14)  # 13 overtook 12
    wait_until(page, "window.__applied.length === 5")
    page.wait_for_timeout(400)  # longer than the reorder window: no reload may follow
    assert page.evaluate("window.__applied") == ["state@10", 11, 12, 13, 14]
    assert page.evaluate("window.__loads") == 1

    page.evaluate("window.__stateSeq = 16")
    push(page, 16)  # 15 never comes: after the window the state is reloaded
    wait_until(page, "window.__loads === 2")
    assert page.evaluate("window.__applied")[-1] == "state@16"
    push(page, 15, 16, 17)  # late and duplicate ones are dropped, the next one applies
    wait_until(page, "window.__applied.length === 7")
    assert page.evaluate("window.__applied")[-1] == 17
