"""The whole product in a real browser: create a profile, upload three real photos,
watch them being indexed, search them by description and open one.

Needs `npm run build` first and Debian's Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

INDEX_TIMEOUT_MS = 300_000  # three photos through the captioner on a small CPU


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    """Real photos that scikit-image ships, written as JPEGs."""
    from PIL import Image
    from skimage import data

    out = {}
    for name in ("chelsea", "coffee", "astronaut"):
        path = tmp_path / f"{name}.jpg"
        Image.fromarray(getattr(data, name)()).convert("RGB").save(path, quality=92)
        out[name] = path
    return out


def test_upload_search_and_view(page, server, photos: dict[str, Path], artifacts: Path) -> None:
    from playwright.sync_api import expect

    page.goto("/")

    # a new installation asks for a collection; the server's validation message is shown (a name needs a
    # letter or a digit; spaces and accents are fine)
    name_input = page.get_by_test_id("profile-create-input")
    expect(name_input).to_be_visible()
    name_input.fill("!!!")
    page.get_by_test_id("profile-create-submit").click()
    error = page.get_by_test_id("profile-create-error")
    expect(error).to_be_visible()
    expect(error).not_to_have_text("")

    name_input.fill("e2e-photos")
    page.get_by_test_id("profile-create-submit").click()
    expect(page.get_by_test_id("profile-select")).to_have_value("e2e-photos")
    expect(page.get_by_test_id("profile-count")).to_contain_text("0 photos")

    # upload three photos through the file input and wait for the indexing job
    page.get_by_test_id("upload-input").set_input_files([str(p) for p in photos.values()])
    job = page.get_by_test_id("job-progress").first
    expect(job).to_be_visible()
    expect(job).to_have_attribute("data-status", re.compile("done|failed"), timeout=INDEX_TIMEOUT_MS)
    page.screenshot(path=str(artifacts / "01-indexed.png"), full_page=True)
    expect(job).to_have_attribute("data-status", "done")
    expect(job.get_by_test_id("job-progress-bar")).to_have_attribute("aria-valuenow", "100")
    expect(job.get_by_test_id("job-counts")).to_contain_text("3 of 3 photos ready")
    expect(page.get_by_test_id("profile-count")).to_contain_text("3 photos")

    # dropping a photo on the drop zone uploads it too; one already there is not added twice
    dropped = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: "image/jpeg" }));
            return dt;
        }""",
        [photos["chelsea"].name, base64.b64encode(photos["chelsea"].read_bytes()).decode()],
    )
    dropzone = page.get_by_test_id("dropzone")
    dropzone.dispatch_event("dragenter", {"dataTransfer": dropped})
    dropzone.dispatch_event("drop", {"dataTransfer": dropped})
    expect(page.get_by_test_id("job-progress")).to_have_count(2)
    second = page.get_by_test_id("job-progress").first
    expect(second).to_have_attribute("data-status", re.compile("done|failed"), timeout=INDEX_TIMEOUT_MS)
    expect(second).to_have_attribute("data-status", "done")
    expect(second.get_by_test_id("job-counts")).to_contain_text("1 of 1 photo ready")
    expect(page.get_by_test_id("profile-count")).to_contain_text("3 photos")

    # search as you type: best result first
    search = page.get_by_test_id("search-input")
    cards = page.get_by_test_id("result-card")

    search.fill("espresso")
    expect(cards.first).to_have_attribute("data-source", re.compile("coffee"))
    expect(page.get_by_test_id("result-count")).to_contain_text("espresso")
    page.screenshot(path=str(artifacts / "02-search-espresso.png"), full_page=True)

    search.fill("cat")
    expect(page.get_by_test_id("result-count")).to_contain_text("“cat”")
    expect(cards.first).to_have_attribute("data-source", re.compile("chelsea"))
    page.screenshot(path=str(artifacts / "03-search-cat.png"), full_page=True)

    # the photo view shows labels (and the attention heatmap when the captioner gave one)
    cards.first.click()
    view = page.get_by_test_id("photo-view")
    expect(view).to_be_visible()
    labels = view.get_by_test_id("photo-label")
    expect(labels.first).to_be_visible()
    assert labels.count() >= 1
    expect(view.get_by_test_id("photo-view-image")).to_have_attribute("src", re.compile(r"/image"))

    words = view.get_by_test_id("attention-word")
    if words.count() > 0:
        words.first.hover()
        expect(view.get_by_test_id("heatmap-canvas")).to_have_attribute("data-visible", "true")
    page.screenshot(path=str(artifacts / "04-photo-view.png"))

    page.keyboard.press("Escape")
    expect(view).to_have_count(0)

    assert not page.errors, f"JavaScript errors on the page: {page.errors}"  # type: ignore[attr-defined]
