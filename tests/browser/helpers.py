"""Small DOM helpers shared by the browser tests (selectors are the page's data-testid attributes)."""
import time

from playwright.sync_api import expect

# The origin playwright serves web-demo/ at for the scripted fake gateway (browser/conftest.py).
FAKE_ORIGIN = "http://chat.test"

UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


def until(page, cond, timeout=5.0, what="condition"):
    """Poll a Python condition, letting playwright dispatch events (route handlers) meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        page.wait_for_timeout(20)


def wait_state(page, state, timeout=10_000):
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", state, timeout=timeout)


def assistants(page):
    return page.locator('[data-testid="assistant-message"]')


def users(page):
    return page.locator('[data-testid="user-message"]')


def reply(page, turn=None):
    if turn is None:
        return assistants(page).last
    return page.locator(f'[data-testid="assistant-message"][data-turn="{turn}"]')


def text_of(msg):
    return msg.locator('[data-testid="message-text"]').text_content()


def send(page, text):
    page.bring_to_front()  # actions on a background tab wait for animation frames it never gets
    page.get_by_test_id("message-input").fill(text)
    page.get_by_test_id("send").click()


def session_id(page):
    return page.evaluate("localStorage.getItem(ChatClient.STORAGE_KEY)")


def wait_finished(msg, finish=None, timeout=15_000):
    expect(msg).to_have_attribute("data-streaming", "false", timeout=timeout)
    if finish is not None:
        expect(msg).to_have_attribute("data-finish", finish)
