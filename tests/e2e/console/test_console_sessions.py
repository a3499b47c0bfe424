"""Sign-in as each role, the pages each role may and may not open, the session cookie, CSRF."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.e2e.console.conftest import Console, shot, signed_in

#: Where each role lands, and pages it may not open (403 on the page, nothing shown).
LANDS = {
    "hr": ("/console/hr", ["/console/institution/upload", "/console/auditor", "/console/me"]),
    "institution": ("/console/institution", ["/console/hr", "/console/learners", "/console/auditor", "/console/me"]),
    "auditor": ("/console/auditor", ["/console/institution/upload", "/console/hr/roster", "/console/me"]),
    "learner": ("/console/me", ["/console/hr", "/console/learners", "/console/auditor", "/console/institution"]),
}


async def test_each_role_signs_in_lands_on_its_page_and_is_refused_the_others(browser: Any, bank: Console) -> None:
    for role, (home, refused) in LANDS.items():
        page = await signed_in(browser, bank, role)
        assert page.url == bank.base + home, (role, page.url)
        for path in refused:
            response = await page.goto(bank.base + path)
            assert response.status == 403, (role, path)
            assert "无权" in await page.inner_text("#error")
        await page.context.close()


async def test_no_session_goes_to_sign_in_and_a_bad_token_is_refused(browser: Any, bank: Console) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(bank.base + "/console/hr")
    assert page.url.startswith(bank.base + "/console/login")
    await shot(page, "login")
    await page.fill("input[name=token]", "cbk_000000000000_not-a-token")
    await page.click("button[type=submit]")
    assert "令牌无效" in await page.inner_text("#login-failed")
    # The sign-in remembers where the officer was going.
    await page.fill("input[name=token]", bank.tokens["hr"])
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
    assert page.url == bank.base + "/console/hr"
    await context.close()


async def test_the_cookie_is_httponly_samesite_and_holds_no_readable_token(browser: Any, bank: Console) -> None:
    page = await signed_in(browser, bank, "hr")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies["cb_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"
    token = bank.tokens["hr"]
    _, token_id, secret = token.split("_", 2)
    assert token_id not in session["value"] and secret not in session["value"]
    assert await page.evaluate("document.cookie") == ""  # nothing a script can read
    # Sign-out ends the session.
    await page.click("header form button")
    await page.wait_for_load_state()
    response = await page.goto(bank.base + "/console/hr")
    assert page.url.startswith(bank.base + "/console/login"), response
    await page.context.close()


async def test_a_form_post_without_its_csrf_token_is_refused(browser: Any, bank: Console) -> None:
    page = await signed_in(browser, bank, "hr")
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with aiohttp.ClientSession(cookies={"cb_session": cookies["cb_session"]}) as http:
        form = aiohttp.FormData()
        form.add_field("file", b"\xe6\x95\x99\xe5\xb8\x88\xe7\xbc\x96\xe5\x8f\xb7\n", filename="roster.csv")
        async with http.post(bank.base + "/console/hr/roster", data=form) as r:
            assert r.status == 403
            assert "CSRF" in await r.text() or "安全校验" in await r.text()
        async with http.post(bank.base + "/console/hr/roster", data={"csrf": "forged"}) as r:
            assert r.status == 403
        async with http.post(bank.base + "/console/logout") as r:
            assert r.status == 403
        # The sign-in form too: a token posted without the form's CSRF cookie and field.
        async with (
            aiohttp.ClientSession() as anonymous,
            anonymous.post(bank.base + "/console/login", data={"token": bank.tokens["hr"]}, allow_redirects=False) as r,
        ):
            assert r.status == 403 and "cb_session" not in r.cookies
    await page.context.close()


async def test_a_revoked_token_ends_the_console_session_on_the_next_page(browser: Any, bank: Console) -> None:
    page = await signed_in(browser, bank, "auditor")
    token_id = bank.tokens["auditor"].split("_")[1]
    import asyncpg

    from api import auth

    conn = await asyncpg.connect(**bank.database.asyncpg_kwargs())
    try:
        await auth.revoke(conn, token_id)
    finally:
        await conn.close()
    await page.goto(bank.base + "/console/auditor/events")
    assert page.url == bank.base + "/console/login"
    assert "cb_session" not in {c["name"] for c in await page.context.cookies()}
    await page.context.close()


async def test_chinese_by_default_and_english_on_asking(browser: Any, bank: Console) -> None:
    page = await signed_in(browser, bank, "hr")
    assert "达标" in await page.inner_text("main") and await page.get_attribute("html", "lang") == "zh-CN"
    await page.goto(bank.base + "/console/hr?lang=en")
    assert "Not eligible" in await page.inner_text("main")
    await page.goto(bank.base + "/console/learners")  # remembered
    assert "Find a teacher" in await page.inner_text("main")
    await page.goto(bank.base + "/console/learners?lang=zh")
    assert "教师查询" in await page.inner_text("main")
    await page.context.close()
