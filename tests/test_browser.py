"""The built site in a real browser: headless Debian Chromium driven by Playwright.

The site is served on 127.0.0.1 from the ``built_site`` folder. Every page must load with
no console error and no request leaving 127.0.0.1; the search finds a concept's page; the
quizzes react to answers; code blocks get Material's copy button.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage"]
LOCAL_HOSTS = {"127.0.0.1"}

# Skipped, visibly, where no Chromium can be had; in CI (CI=true) a missing browser fails.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (bash dev.sh test installs it with apt-get where it can)")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - http.server API
        pass


@pytest.fixture(scope="module")
def site_url(built_site: Path):
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def playwright(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def chromium_context(playwright, tmp_path_factory):
    if CHROMIUM is None:
        pytest.fail("CI=true but Debian's chromium is not installed: CI runs the browser tests")
    profile = tmp_path_factory.mktemp("chromium-profile")
    # A persistent context takes the fresh --user-data-dir the toolchain notes ask for.
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS,
        viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def guard(route):
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    context.outside = outside  # requests that tried to leave 127.0.0.1
    yield context
    context.close()


def _evidence(built_site: Path, name: str, browse) -> dict:
    """What ``browse()`` found, kept once per content of the built site, this file and the
    browser: an unchanged re-run re-asserts it without driving Chromium again. A finding with
    problems is never kept, so a flaky one is looked at anew."""
    import hashlib
    import json

    from fieldguide_site.execute import runs_dir

    digest = hashlib.sha256(f"{name}\n{CHROMIUM}\n".encode() + Path(__file__).read_bytes())
    for path in sorted(built_site.rglob("*")):
        if path.is_file() and not path.name.startswith("sitemap"):  # the sitemap holds the date
            digest.update(path.relative_to(built_site).as_posix().encode() + b"\0" + path.read_bytes())
    kept = runs_dir() / "_browser" / f"{digest.hexdigest()[:24]}.json"
    if kept.is_file():
        return json.loads(kept.read_text())
    found = browse()
    if not found["problems"]:
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.with_suffix(".partial").write_text(json.dumps(found))
        kept.with_suffix(".partial").replace(kept)
    return found


def _pages(built_site: Path) -> list[str]:
    return sorted(p.relative_to(built_site).as_posix() for p in built_site.rglob("*.html")
                  if p.name != "404.html")


def test_every_page_loads_cleanly_and_stays_local(request, site_url, built_site):
    found = _evidence(built_site, "every page loads", lambda: _load_every_page(
        request.getfixturevalue("chromium_context"), site_url, built_site))
    print(found["summary"])
    assert found["pages"] >= 22
    assert not found["problems"], "\n".join(found["problems"][:30])


def _load_every_page(chromium_context, site_url, built_site) -> dict:
    started = time.perf_counter()
    page = chromium_context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{page.url}: console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{page.url}: page error: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"{page.url}: request failed: {r.url}")
            if urlsplit(r.url).hostname in LOCAL_HOSTS else None)
    paths = _pages(built_site)
    for path in paths:
        response = page.goto(site_url + path, wait_until="load")
        if response is None or not response.ok:
            errors.append(f"{path}: HTTP {response and response.status}")
            continue
        page.wait_for_selector(".md-content", state="attached")
        # Math: every arithmatex span rendered by the vendored KaTeX, none as a KaTeX error.
        try:
            page.wait_for_function("[...document.querySelectorAll('.arithmatex')]"
                                   ".every(e => e.querySelector('.katex'))", timeout=5_000)
        except Exception:  # reported just below, with the offending formulas
            pass
        bad_math = page.evaluate(
            "[...document.querySelectorAll('.arithmatex')].filter(e => !e.querySelector('.katex')"
            " || e.querySelector('.katex-error')).map(e => e.textContent.slice(0, 60))")
        errors += [f"{path}: math not rendered: {m}" for m in bad_math]
    page.wait_for_timeout(300)  # late console errors from the last page
    page.close()
    outside = sorted(set(chromium_context.outside))
    return {"pages": len(paths), "problems": errors[:30] + [f"request leaving 127.0.0.1: {u}" for u in outside[:30]],
            "summary": f"{len(paths)} pages loaded in {time.perf_counter() - started:.1f} s; "
                       f"{len(outside)} requests tried to leave 127.0.0.1"}


@pytest.mark.parametrize("query, page_path", [
    ("Freezing Encoder Parameters", "encoders/freezing-encoder-parameters/"),
    ("Activating Pre-Trained Knowledge", "llms/activating-pretrained-knowledge/"),
    ("LLM Alignment", "alignment/llm-alignment/"),
])
def test_search_finds_the_concept_page(chromium_context, site_url, query, page_path):
    page = chromium_context.new_page()
    page.goto(site_url, wait_until="load")
    page.locator(".md-search__input").click()  # Material's search reacts to typing, not fill()
    page.keyboard.type(query, delay=20)
    results = page.locator(".md-search-result__item a")
    results.first.wait_for(timeout=20_000)
    hrefs = [results.nth(i).get_attribute("href") or "" for i in range(min(results.count(), 10))]
    page.close()
    assert any(page_path in href for href in hrefs), f"search for {query!r} gave {hrefs}"


def test_choosing_an_option_shows_right_or_wrong_and_the_explanation(chromium_context, site_url):
    page = chromium_context.new_page()
    page.goto(site_url + "prompting/efficiency-of-prompting/", wait_until="load")
    item = page.locator("#quiz-startup-sentiment")
    answer = item.locator("details.fg-quiz__answer")
    assert not answer.is_visible()  # hidden until the reader answers
    item.locator('li[data-correct="false"] button').first.click()
    feedback = item.locator(".fg-quiz__feedback")
    assert feedback.inner_text().startswith("Not quite")
    assert answer.is_visible() and answer.get_attribute("open") is not None
    assert "prompting" in answer.inner_text().lower()
    item.locator('li[data-correct="true"] button').click()
    assert feedback.inner_text().startswith("Correct")
    assert item.locator("li.fg-quiz__right").count() == 1
    page.close()


def test_ordering_question_can_be_reordered_and_checked(chromium_context, site_url):
    page = chromium_context.new_page()
    page.goto(site_url + "prompting/selecting-adaptation-strategy/", wait_until="load")
    item = page.locator("#quiz-adaptation-steps")
    steps = item.locator(".fg-quiz__steps > li")
    n = steps.count()
    assert n >= 3
    item.locator(".fg-quiz__check").click()  # shuffled order: not right yet
    assert f"of {n} steps" in item.locator(".fg-quiz__feedback").inner_text()
    for _ in range(n * n):  # bubble sort with the reader's "move up" buttons
        order = [int(steps.nth(i).get_attribute("data-step")) for i in range(n)]
        if order == sorted(order):
            break
        i = next(i for i in range(1, n) if order[i] < order[i - 1])
        steps.nth(i).locator(".fg-quiz__move--up").click()
    item.locator(".fg-quiz__check").click()
    assert item.locator(".fg-quiz__feedback").inner_text().startswith("Correct")
    assert item.locator("details.fg-quiz__answer").is_visible()
    page.close()


def test_code_blocks_have_a_copy_button(chromium_context, site_url):
    # Material 9.8 puts the button in a <nav class="md-code__nav"> inside each <pre>.
    copy = '.md-content pre button[data-md-type="copy"]'
    page = chromium_context.new_page()
    page.goto(site_url + "foundations/applications-of-ptms/", wait_until="load")
    page.locator(copy).first.wait_for(state="attached")
    n_code = page.locator(".md-content pre > code").count()
    n_copy = page.locator(copy).count()
    title = page.locator(copy).first.get_attribute("title")
    page.close()
    assert n_code >= 1 and n_copy == n_code, f"{n_code} code blocks, {n_copy} copy buttons"
    assert title == "Copy to clipboard"


def test_quiz_is_readable_without_javascript(playwright, site_url):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    context = browser.new_context(java_script_enabled=False)
    context.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname in LOCAL_HOSTS
                  else r.abort())
    page = context.new_page()
    page.goto(site_url + "llms/evaluating-researchers-conclusion/", wait_until="load")
    details = page.locator("#quiz-entirely-new-capabilities details.fg-quiz__answer")
    visible = details.is_visible()
    details.locator("summary").click()
    text = details.inner_text()
    browser.close()
    assert visible, "without JavaScript the answer block must be visible (collapsed)"
    assert "Answer: B" in text and "activat" in text.lower()


# --- Reading the pages (issue 15 §4): layout at a desktop and a phone width, figures, the
# collapsed full scripts, downloads, dark mode, and how far down the first result starts.

SCREEN = (1400, 900)   # the screen the first-result depth is counted in
PHONE = (390, 844)
FLAGSHIP = "llms/activating-pretrained-knowledge/"
FIRST_RESULT_SCREENS = 2.75  # the flagship's first executed result starts within this many screens (2.5
# until the page opened with its 'In short' and 'Before this page' lines, which state the result in words)
READING_SECTIONS = ("foundations", "encoders", "llms", "prompting", "alignment")
# Boxes that scroll on their own: what is inside them may be wider than the screen, they may not.
SCROLL_BOXES = "pre, code, table, .md-typeset__scrollwrap, .arithmatex, .katex-mathml, svg"
# Off-canvas or hidden parts of Material's layout (the phone drawer, the search overlay).
OFF_CANVAS = ".md-sidebar, .md-search, [hidden]"

_OVERFLOW_JS = """([boxes, offCanvas]) => {
  const W = window.innerWidth, wide = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest(offCanvas) || (e.parentElement && e.parentElement.closest(boxes))) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > W + 1 || r.left < -1)
      wide.push(`${e.tagName.toLowerCase()}.${String(e.className).split(' ')[0]} spans ${Math.round(r.left)}..${Math.round(r.right)} px`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, width: W, wide: wide.slice(0, 5)};
}"""
_FIRST_RESULT_JS = """() => {
  const e = [...document.querySelectorAll('.md-content .fg-output, .md-content .fg-table, .md-content .fg-figure, .md-content .fg-caption')]
    .find(x => !x.closest('details:not([open])'));  // a folded result is not what a reader sees first
  return e ? e.getBoundingClientRect().top + window.scrollY : null;
}"""
# A result-table cell squeezed into one word per line (a header may take two words per line).
_SQUEEZED_JS = """() => {
  const lines = c => { const r = document.createRange(); r.selectNodeContents(c);
    return new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.bottom))).size; };
  return [...document.querySelectorAll('.md-content .fg-table th, .md-content .fg-table td')].filter(c => {
    const words = c.innerText.trim().split(/\\s+/).length, n = lines(c);
    return n >= 2 && n >= words && words >= (c.tagName === 'TH' ? 3 : 2);
  }).map(c => c.innerText.slice(0, 40));
}"""
# Issue 26 §5: what a reader sees of a concept page without opening anything, at 1400 px: the
# article's rendered text (innerText leaves out closed <details> and hidden tabs), prose and open
# code alike, in words.
VISIBLE_WORDS_LIMIT = 2500
# Pages still over it (the issue is open): none may grow past 1 % above what it showed when last
# measured (a result's digits move the count a little). Lower a page's figure when it is cut;
# remove it once the page is under the limit.
VISIBLE_WORDS_STILL_OVER: dict[str, int] = {}  # none since 2026-12-08 (the nine long pages were cut)
_VISIBLE_WORDS_JS = """() => document.querySelector('.md-content article').innerText.split(/\\s+/).filter(Boolean).length"""
_FIGURES_JS = """() => [...document.querySelectorAll('.md-content img')].map(i => ({
  src: i.currentSrc.slice(0, 60), loaded: i.complete && i.naturalWidth > 0, figure: !!i.closest('.fg-figure'),
  background: getComputedStyle(i).backgroundColor}))"""


def _reading_pages(built_site: Path) -> list[str]:
    """The home page, every concept page and every subpage of one (a folder of its name)."""
    return [""] + sorted(p.parent.relative_to(built_site).as_posix() + "/" for s in READING_SECTIONS
                         for p in (built_site / s).glob("*/**/index.html"))


def _rgb(css: str) -> tuple[float, ...]:
    """'rgb(r, g, b)' or 'rgba(r, g, b, a)' as numbers (a = 1 when absent)."""
    parts = [float(x) for x in css[css.index("(") + 1:css.index(")")].replace("/", ",").split(",")]
    return tuple(parts + [1.0] * (4 - len(parts)))


def _luminance(rgb) -> float:
    r, g, b = (c / 255 for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_pages_read_well_at_desktop_and_phone_widths(request, site_url, built_site):
    """On the home page and every concept page: no horizontal overflow of the page outside code
    and table boxes (1400 px and 390 px), no result-table cell squeezed to a word per line
    (1400 px), every image loads, every collapsed full script opens
    on a click and shows its code, every download link answers 200, and in dark mode every
    figure sits on a light card unlike the page. Prints how far down each page's first executed
    result starts, in screens of 1400 x 900 px; the flagship's must be within 2.5. Prints each page's
    visible words at 1400 px with nothing opened; a concept page may show at most 2,500."""
    found = _evidence(built_site, "pages read well", lambda: _read_every_page(
        request.getfixturevalue("chromium_context"), site_url, built_site))
    depths = found["depths"]
    print(f"\nfirst executed result, in screens of {SCREEN[0]} x {SCREEN[1]} px from the top:")
    for name, depth in depths.items():
        print(f"  {'-' if depth is None else f'{depth:4.2f}'}  {name}")
    print(f"\nvisible words at {SCREEN[0]} px, nothing opened (a concept page's limit: {VISIBLE_WORDS_LIMIT}):")
    for name, words in found["words"].items():
        print(f"  {words:6d}  {name}")
    print(found["summary"])
    assert not found["problems"], "\n".join(found["problems"][:40])
    concept_pages = {name: words for name, words in found["words"].items() if name != "home page"}
    long_pages = {name: words for name, words in concept_pages.items()
                  if words > VISIBLE_WORDS_STILL_OVER.get(name, VISIBLE_WORDS_LIMIT)}
    assert not long_pages, f"concept pages longer than allowed (visible words): {long_pages}"
    now_short = [name for name in VISIBLE_WORDS_STILL_OVER if concept_pages.get(name, 0) <= VISIBLE_WORDS_LIMIT]
    assert not now_short, f"under {VISIBLE_WORDS_LIMIT} words now (or gone): remove from VISIBLE_WORDS_STILL_OVER: {now_short}"
    n_figures, n_scripts, n_downloads = found["figures"], found["scripts"], found["downloads"]
    assert n_figures >= 5 and n_scripts >= 20 and n_downloads >= 20, (n_figures, n_scripts, n_downloads)
    missing = [p for p, d in depths.items() if d is None]
    assert not missing, f"pages with no executed result: {missing}"
    assert depths[FLAGSHIP] <= FIRST_RESULT_SCREENS, (
        f"the flagship's first executed result starts {depths[FLAGSHIP]:.2f} screens down "
        f"(at most {FIRST_RESULT_SCREENS})")


def _read_every_page(chromium_context, site_url, built_site) -> dict:
    import urllib.request
    from urllib.parse import urljoin

    started = time.perf_counter()
    paths = _reading_pages(built_site)
    page = chromium_context.new_page()
    problems, depths, downloads, words = [], {}, {}, {}
    n_figures = n_scripts = 0
    for path in paths:
        name = path or "home page"
        page.set_viewport_size({"width": SCREEN[0], "height": SCREEN[1]})
        page.goto(site_url + path, wait_until="load")
        page.wait_for_function("[...document.images].every(i => i.complete)", timeout=10_000)

        top = page.evaluate(_FIRST_RESULT_JS)
        depths[name] = None if top is None else top / SCREEN[1]
        words[name] = page.evaluate(_VISIBLE_WORDS_JS)  # before any block is opened below

        squeezed = page.evaluate(_SQUEEZED_JS)
        if squeezed:
            problems.append(f"{name}: table cells squeezed to a word per line: {squeezed[:4]}")

        images = page.evaluate(_FIGURES_JS)
        problems += [f"{name}: image {i['src']}... did not load" for i in images if not i["loaded"]]
        n_figures += sum(i["figure"] for i in images)

        for href in page.eval_on_selector_all(".md-content a[download]", "as => as.map(a => a.getAttribute('href'))"):
            url = urljoin(site_url + path, href)
            if "/downloads/" not in url:
                problems.append(f"{name}: download link {href} is not under downloads/")
            downloads.setdefault(url, name)

        # The collapsed full script (a `??? example` block): closed, then open with code on a click.
        scripts = page.locator(".md-content details.example")
        for i in range(scripts.count()):
            details = scripts.nth(i)
            if details.get_attribute("open") is not None:
                problems.append(f"{name}: full script {i + 1} is not collapsed")
                continue
            details.locator("summary").first.click()
            code = details.locator("pre code").first
            try:
                code.wait_for(state="visible", timeout=3_000)
            except Exception:
                problems.append(f"{name}: full script {i + 1} shows no code after a click")
                continue
            if details.get_attribute("open") is None or len(code.inner_text().strip().splitlines()) < 5:
                problems.append(f"{name}: full script {i + 1} did not open onto its code")
            n_scripts += 1

        for width, height in (SCREEN, PHONE):
            page.set_viewport_size({"width": width, "height": height})
            found = page.evaluate(_OVERFLOW_JS, [SCROLL_BOXES, OFF_CANVAS])
            if found["scrollWidth"] > found["width"] + 1 or found["wide"]:
                problems.append(f"{name} at {width} px: page {found['scrollWidth']} px wide; "
                                f"wider than the screen: {found['wide']}")

        # Dark mode: Material's slate scheme on <body>; a figure must keep a light card of its own.
        page.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
        background = _rgb(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        for figure in page.evaluate(_FIGURES_JS):
            if not figure["figure"]:
                continue
            card = _rgb(figure["background"])
            if card[3] < 0.99 or _luminance(card) < 0.85 or abs(_luminance(card) - _luminance(background)) < 0.5:
                problems.append(f"{name}: in dark mode a figure's background {figure['background']} "
                                f"is not a light card on the page's rgb{background[:3]}")

    for url, name in downloads.items():
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                status, size = response.status, len(response.read())
        except Exception as err:  # an HTTP error or a refused connection
            status, size = getattr(err, "code", repr(err)), 0
        if status != 200 or size == 0:
            problems.append(f"{name}: download {url[len(site_url):]} answered {status} ({size} bytes)")
    page.close()
    concept_pages = [p for p in paths if p.count("/") == 2]
    if len(paths) < 21 or len(concept_pages) != 20:  # the home page, the twenty concept pages and their subpages
        problems.append(f"expected the home page, 20 concept pages and their subpages, found {len(paths)}: {paths}")
    return {"problems": problems, "depths": depths, "words": words, "figures": n_figures, "scripts": n_scripts,
            "downloads": len(downloads),
            "summary": f"{len(paths)} pages at {SCREEN[0]} and {PHONE[0]} px, {n_figures} figures, {n_scripts} "
                       f"full scripts opened, {len(downloads)} downloads fetched in "
                       f"{time.perf_counter() - started:.1f} s"}


def test_a_claim_mark_shows_its_band_on_hover_and_keyboard_focus_within_a_phone_screen(chromium_context, site_url):
    """Issue 23 §2: a claim reads as a small tick in its sentence; hover, keyboard focus (Tab) or a
    tap shows the band, the measured values and the ledger link, inside the screen at 390 px, in
    both colour schemes."""
    page = chromium_context.new_page()
    try:
        for width, height in (SCREEN, PHONE):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(site_url + FLAGSHIP, wait_until="load")
            mark = page.locator(".md-content .fg-claim").first
            detail = mark.locator(".fg-claim__detail")
            assert mark.inner_text().strip().startswith("\u2713")
            assert not detail.is_visible(), "the band shows before anyone asks for it"
            mark.scroll_into_view_if_needed()
            mark.hover()
            assert detail.is_visible() and "held in this build" in detail.inner_text()
            page.mouse.move(0, 0)
            mark.evaluate("m => m.blur()")
            mark.focus()
            assert detail.is_visible(), f"keyboard focus shows no band at {width} px"
            assert "<code>" in detail.inner_html() and detail.locator("a[href*='claims/#claim-']").count() == 1
            for scheme in ("default", "slate"):
                page.evaluate(f"document.body.setAttribute('data-md-color-scheme', '{scheme}')")
                box = detail.bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (width, scheme, box)
                colour, background = detail.evaluate(
                    "d => [getComputedStyle(d).color, getComputedStyle(d).backgroundColor]")
                assert abs(_luminance(_rgb(colour)) - _luminance(_rgb(background))) > 0.5, (scheme, colour, background)
            # Tab from the element before reaches the mark: it is in the keyboard's order.
            mark.evaluate("m => m.blur()")
            assert mark.get_attribute("tabindex") == "0"
    finally:
        page.close()
