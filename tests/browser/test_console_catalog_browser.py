"""Search words in a real browser: the demo catalog admin adds an everyday word, and the same search
— the console's and the citizens' — finds what it could not find before."""
from __future__ import annotations

import uuid

import httpx

from tests.browser.test_console_browser import shot

CATALOG, CATALOG_PASSWORD = "catalog", "govhub-dev-matters"  # the seed's demo account (docs/admin.md)


async def test_a_search_word_added_and_search_changing(signed_in, console_url):
    term = "租房提" + uuid.uuid4().hex[:1].translate(str.maketrans("0123456789abcdef", "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳"))
    page = await signed_in(CATALOG, CATALOG_PASSWORD, viewport={"width": 1280, "height": 900})
    await page.goto(f"{console_url}/console/matters?q={term}")
    assert "没有找到事项" in await page.text_content("#results")
    await page.goto(f"{console_url}/console/search-words")
    await page.fill("input[name=term]", term)
    await page.fill("input[name=expansions]", "租房")
    await page.click("text=添加")
    await page.wait_for_selector("[role=status]")
    await shot(page, "search-words")
    await page.goto(f"{console_url}/console/matters?q={term}")
    assert "住房公积金提取（租房）" in await page.text_content("#results")
    assert "同时搜索：租房" in await page.text_content("#meanings")
    await shot(page, "matters")
    await page.click("#results a:has-text('住房公积金提取（租房）')")
    await page.wait_for_selector("text=展示渠道")
    assert "看到的内容" in await page.text_content("main")  # the body each channel's BFF serves
    await shot(page, "matter")
    async with httpx.AsyncClient(base_url=console_url.replace("localhost", "127.0.0.1")) as http:
        citizens = (await http.get("/app/v1/matters", params={"q": term})).json()["items"]
    assert any("租房" in m["name"] for m in citizens)
