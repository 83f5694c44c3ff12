"""Signing a demo agent in through the real sign-in page, in a Playwright page."""
from playwright.sync_api import expect


def sign_in(page, base, desk, who):
    """Sign `who` (a demo agent) in on `page`; returns once the staff pages show their name."""
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(desk.passwords[who.email])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".topnav .who")).to_contain_text(who.name)
    return page
