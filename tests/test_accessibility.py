"""The page meets WCAG 2.2 AA as far as a machine can tell: axe-core (bundled by the PyPI
package axe-playwright-python, no download) in Debian's chromium, and a keyboard-only walk.

Slow: the real app (app.py on 127.0.0.1), the real index and a real browser.
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.web import ask, last_reply, open_page

pytestmark = pytest.mark.slow
BLOCKING = ("serious", "critical")


def blocking_violations(page) -> list[str]:
    """Serious and critical axe violations of the settled page (gradio dims a panel while it
    updates: checked mid-fade, its text is grey on white)."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_function("() => !document.querySelector('.pending, .generating')")
    page.wait_for_timeout(600)  # the fade back is a CSS transition
    result = Axe().run(page)
    return [f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result.response["violations"] if v["impact"] in BLOCKING]


@pytest.mark.parametrize("width, questions", [
    (1280, ()),  # the empty page
    (1280, ("when can I drive after car-t?",)),  # an answer with its sources
    (1280, ("I've got a temperature of 38.2 and shivering",)),  # an urgent answer
    (1280, ("is there a CAR-T treatment for lupus?",)),  # a refusal with where to ask
    (1280, ("how do the nurses test for confusion after car-t?",)),  # a question back, with a button per section
    (390, ("when can I drive after car-t?",)),  # a phone's width
])
def test_no_serious_or_critical_axe_violation(browser, server, width, questions):
    with open_page(browser, server.url, width=width) as page:
        for question in questions:
            ask(page, question)
        assert blocking_violations(page) == []


def test_an_opened_source_document_has_no_serious_or_critical_axe_violation(browser, server):
    with open_page(browser, server.url) as page:
        ask(page, "when can I drive after car-t?")
        with page.context.expect_page() as opened:
            page.locator("#sources a.source-open").first.click()
        document = opened.value
        document.wait_for_load_state("domcontentloaded")
        assert "/source/corpus/" in document.url
        assert blocking_violations(document) == []


def test_a_scrolling_excerpt_can_be_reached_and_scrolled_by_keyboard(browser, server):
    with open_page(browser, server.url) as page:
        ask(page, "what do I need to bring to hospital?")
        excerpt = page.locator("#sources blockquote.source-excerpt").first
        excerpt.focus()
        assert page.evaluate("document.activeElement.classList.contains('source-excerpt')")
        assert excerpt.evaluate("el => el.scrollHeight > el.clientHeight"), "pick a longer excerpt"
        for _ in range(3):
            page.keyboard.press("ArrowDown")
        page.wait_for_function("el => el.scrollTop > 0", arg=excerpt.element_handle(), timeout=3000)


def focus_by_tab(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector` (fails after `limit` presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never took the focus in {limit} presses of Tab")


def test_keyboard_only_ask_reach_the_sources_and_give_feedback(browser, server):
    """No mouse: Tab to the question, type, Enter; Tab to a source and open it; Tab to the
    feedback and press it; the feedback is stored."""
    question = "how long will I stay in hospital after the infusion?"
    with open_page(browser, server.url) as page:
        focus_by_tab(page, "#question textarea")
        page.keyboard.type(question)
        before = page.locator("#chat [data-testid=bot]").count()
        page.keyboard.press("Enter")
        page.wait_for_function("n => document.querySelectorAll('#chat [data-testid=bot]').length > n"
                               " && !document.querySelector('#send').disabled", arg=before)
        assert "[1]" in last_reply(page).inner_text()

        focus_by_tab(page, "#sources a.source-open")
        with page.context.expect_page() as opened:
            page.keyboard.press("Enter")
        opened.value.wait_for_load_state("domcontentloaded")
        assert "/source/corpus/" in opened.value.url
        opened.value.close()

        focus_by_tab(page, "#helpful")
        page.keyboard.press("Enter")
        page.get_by_text("recorded this answer as helpful").wait_for()
    with sqlite3.connect(server.feedback_db) as conn:
        rows = conn.execute("SELECT rating FROM feedback WHERE question = ?", (question,)).fetchall()
    assert rows == [("helpful",)]


def test_a_section_offered_in_a_question_back_can_be_chosen_by_keyboard(browser, server):
    """The buttons of "which of these do you mean?" take the focus by Tab and ask by Enter."""
    from assistant.chain import CLARIFY_INTRO

    with open_page(browser, server.url) as page:
        assert ask(page, "how do the nurses test for confusion after car-t?").strip().startswith(CLARIFY_INTRO)
        focus_by_tab(page, "#chat .option")
        label = page.evaluate("document.activeElement.innerText").strip()
        before = page.locator("#chat [data-testid=bot]").count()
        page.keyboard.press("Enter")
        page.wait_for_function("n => document.querySelectorAll('#chat [data-testid=bot]').length > n"
                               " && !document.querySelector('#send').disabled", arg=before)
        assert page.locator("#chat [data-testid=user]").last.inner_text().strip() == label
        assert "[1]" in last_reply(page).inner_text()


def test_the_urgent_banner_is_announced_to_screen_readers(browser, server):
    with open_page(browser, server.url) as page:
        ask(page, "my husband had a fit and now we cannot wake him")
        banner = last_reply(page).locator(".urgent-banner")
        assert banner.get_attribute("role") == "alert"  # announced at once, whatever has the focus
        assert "999" in banner.inner_text()
