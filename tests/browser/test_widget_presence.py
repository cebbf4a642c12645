"""The widget's presence bar and typing indicator, two tabs of one browser on a real gateway (each tab
is its own guest user: without auth the gateway names every connection a new guest)."""
from playwright.sync_api import expect

from helpers import session_id, wait_state


def open_tab(context, gateway):
    page = context.new_page()
    page.goto(gateway.http + "/")
    wait_state(page, "open")
    return page


def present(page):
    return page.locator('[data-testid="presence-user"]')


def me(page):
    return page.evaluate("window.chatClient.welcome.user")


def test_tabs_show_who_is_present_and_who_is_typing(context, gateway):
    a = open_tab(context, gateway)
    expect(present(a)).to_have_count(1)
    expect(present(a).first).to_have_attribute("data-user", me(a))
    expect(present(a).first).to_contain_text("(you)")

    b = open_tab(context, gateway)
    assert session_id(b) == session_id(a)
    users = sorted([me(a), me(b)])
    for page in (a, b):
        expect(present(page)).to_have_count(2)
        assert [present(page).nth(i).get_attribute("data-user") for i in range(2)] == users

    expect(b.get_by_test_id("typing")).to_be_hidden()
    a.bring_to_front()
    a.get_by_test_id("message-input").press_sequentially("hel", delay=30)
    expect(b.get_by_test_id("typing")).to_have_text(f"{me(a)} is typing…")
    expect(a.get_by_test_id("typing")).to_be_hidden()   # not for one's own typing
    expect(b.get_by_test_id("typing")).to_be_hidden(timeout=6000)  # it fades when the typing stops

    a.close()
    expect(present(b)).to_have_count(1, timeout=3000)   # a clean close leaves within 2 s
    expect(present(b).first).to_have_attribute("data-user", me(b))
    b.evaluate("window.chatClient._ws.close(4000, 'test: drop the connection')")
    wait_state(b, "open")                                  # rejoined: the roster comes afresh
    expect(present(b)).to_have_count(1)
