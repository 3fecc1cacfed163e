"""Every page of the market through axe-core (WCAG 2.2 AA), signed out and as buyer,
seller and steward, at phone and desktop width. One live server and one browser for
the whole walk; each role keeps one browser context. The pages are listed in
tests/browser/crawl.py: one line per page."""

import pytest

from tests.browser.accessibility import assert_accessible, axe_violations, describe
from tests.browser.conftest import PHONE, BrowserTestCase, off_the_event_loop
from tests.browser.crawl import EVERYONE, PAGES, market_for_the_crawl

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
VIEWPORTS = {"390px": PHONE, "1366px": WIDE}


def test_the_check_names_the_rule_the_impact_and_the_element(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_content(
        "<!doctype html><html lang=en><title>t</title><main><h1>Planted</h1>"
        "<input type=text id=nameless><p id=twice>a</p><p id=twice>b</p>"
        "<label>Code <input aria-describedby=gone></label></main>"
    )
    with pytest.raises(AssertionError) as failed:
        assert_accessible(page, "planted page")
    page.set_content(
        "<!doctype html><html lang=en><title>t</title><main><h1>Fixed</h1>"
        "<label for=named>Name</label><input type=text id=named aria-describedby=hint>"
        "<p id=hint>A hint</p></main>"
    )
    assert_accessible(page, "fixed page")
    context.close()
    message = str(failed.value)
    assert "planted page: 3 accessibility violation(s)" in message
    assert "[critical] label: Form elements must have labels\n      #nameless" in message
    assert "[serious] duplicate-id:" in message and "#twice" in message
    assert 'aria-describedby="gone" on input' in message


class EveryPageIsAccessible(BrowserTestCase):
    def test_every_page_for_every_role_at_both_widths(self):
        seeded = off_the_event_loop(market_for_the_crawl)
        failures = []
        for role in EVERYONE:
            page = self.new_page(seeded["users"].get(role), viewport=WIDE)
            page.on("dialog", lambda dialog: dialog.dismiss())
            for entry in PAGES:
                if role not in entry.roles:
                    continue
                path = entry.path.format(**seeded["ids"])
                for width, viewport in VIEWPORTS.items():
                    page.set_viewport_size(viewport)
                    page.goto(f"{self.live_server_url}{path}", wait_until="load")
                    if entry.then:
                        entry.then(page)
                    violations = axe_violations(page)
                    if violations:
                        failures.append(
                            describe(f"{entry.label} ({path}) as {role}, {width}", violations)
                        )
        assert not failures, "\n\n".join(failures)
