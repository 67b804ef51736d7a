"""CCDom.place (static/js/dom.js) in Chromium: a live list redrawn by a push keeps the field being typed in.
The inboxes redraw their cards on every push; before place(), a card taken out and put back lost its focus,
and an officer's next keystrokes (on a phone, the keyboard itself) went nowhere — a report's checklist note
typed during a push was submitted empty."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_live_order import wait_until

LIST = """
() => {
  const ul = document.createElement('ul');
  ul.id = 'cards';
  for (const k of [1, 2, 3]) {
    const li = document.createElement('li');
    li.id = 'c' + k;
    const input = document.createElement('input');
    input.setAttribute('aria-label', 'note ' + k);
    li.append(input);
    ul.append(li);
  }
  document.body.append(ul);
}
"""


def ids(page: Any) -> list[str]:
    return page.evaluate("() => Array.from(document.querySelectorAll('#cards > li')).map(li => li.id)")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_redraw_keeps_the_field_being_typed_in(asgi_live_server: str, page: Any) -> None:
    page.goto(f"{asgi_live_server}/login/")
    page.add_script_tag(url=f"{asgi_live_server}/static/js/dom.js")
    wait_until(page, "!!window.CCDom")
    page.evaluate(LIST)

    field = page.get_by_label("note 2")
    field.click()
    page.keyboard.type("2处已")
    # A push: a new card arrives on top, the focused card's neighbours swap, one card leaves.
    page.evaluate(
        """() => {
          const [c1, c2, c3] = ['c1', 'c2', 'c3'].map(id => document.getElementById(id));
          const c4 = document.createElement('li'); c4.id = 'c4';
          CCDom.place(document.getElementById('cards'), [c4, c3, c2]);
        }"""
    )
    assert ids(page) == ["c4", "c3", "c2"]
    page.keyboard.type("整改")
    assert field.input_value() == "2处已整改"
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "note 2"

    # Even when the focused card itself has to move, focus and the caret come back with it.
    page.keyboard.press("Home")
    page.evaluate(
        """() => {
          const ul = document.getElementById('cards');
          CCDom.place(ul, ['c2', 'c4', 'c3'].map(id => document.getElementById(id)));
        }"""
    )
    assert ids(page) == ["c2", "c4", "c3"]
    page.keyboard.type("共")
    assert field.input_value() == "共2处已整改"

    # What place() replaces: replaceChildren takes the focus away, and the keystrokes are lost.
    page.evaluate(
        """() => {
          const ul = document.getElementById('cards');
          ul.replaceChildren(...['c4', 'c2', 'c3'].map(id => document.getElementById(id)));
        }"""
    )
    page.keyboard.type("X")
    assert field.input_value() == "共2处已整改"
