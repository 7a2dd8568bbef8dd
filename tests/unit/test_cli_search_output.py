"""The CLI shows a search as the app does: matches first, weaker ones under their own line, the notice and the
did-you-mean; `--json` carries the same fields as the API."""

from __future__ import annotations

from types import SimpleNamespace

from photosearch.cli import _page_json, _search_lines


def _result(photo_id: int, score: float, strong: bool, reason: str, shown: str = "caption") -> dict:
    description = {"caption": f"caption {photo_id}", "caption_confidence": 0.7 if shown == "caption" else 0.3,
                   "grounded_caption": "A photo of a cat.", "shown": shown}
    photo = SimpleNamespace(id=photo_id, source=f"p{photo_id}.jpg", caption=f"caption {photo_id}",
                            labels=[{"label": "tabby", "score": 0.8}], description=description)
    return {"photo": photo, "score": score, "strong": strong, "scores": {"semantic": score},
            "reasons": [{"text": reason, "kind": "semantic"}], "matched": [], "matched_in": []}


def _page(results: list[dict], **extra: object) -> dict:
    page = {"query": "a cat", "searched_for": "a cat", "did_you_mean": None, "notice": None, "cutoff": 0.45,
            "total": len(results), "matches": sum(r["strong"] for r in results), "results": results}
    return {**page, **extra}


def test_weaker_matches_follow_the_matches_under_their_own_line() -> None:
    lines = _search_lines(_page([_result(1, 0.6, True, "cat (in labels, 80 %)"), _result(2, 0.3, False, "loose")]))
    assert "cat (in labels, 80 %)" in lines[0]
    assert lines[1].startswith("weaker matches")
    assert "#2" in lines[2]


def test_nothing_above_the_cut_off_says_so_before_the_weaker_ones() -> None:
    lines = _search_lines(_page([_result(2, 0.3, False, "loose")]))
    assert lines[0] == "no photo matches 'a cat'"
    assert lines[1].startswith("weaker matches")


def test_a_notice_replaces_the_no_match_line_and_did_you_mean_is_shown() -> None:
    assert _search_lines(_page([], notice="No usable English words")) == ["No usable English words"]
    lines = _search_lines(_page([], did_you_mean="astronaut", searched_for="astronaut", query="astronot"))
    assert lines[0].startswith("did you mean: astronaut?")


def test_json_has_the_api_fields() -> None:
    out = _page_json(_page([_result(1, 0.6, True, "cat")], did_you_mean="cat"))
    assert {"matches", "cutoff", "did_you_mean", "notice", "searched_for", "total"} <= out.keys()
    assert out["results"][0]["strong"] is True and out["results"][0]["reasons"][0]["text"] == "cat"
    assert out["results"][0]["shown"] == "caption 1" and out["results"][0]["description"]["shown"] == "caption"


def test_each_line_shows_the_sentence_the_apps_card_shows() -> None:
    """The labels' sentence where the caption is unsure, as on the app's cards; the caption elsewhere."""
    lines = _search_lines(_page([_result(1, 0.6, True, "cat"), _result(2, 0.5, True, "cat", shown="grounded")]))
    assert "caption 1" in lines[0]
    assert "A photo of a cat." in lines[1] and "caption 2" not in lines[1]
    assert _page_json(_page([_result(2, 0.5, True, "cat", shown="grounded")]))["results"][0]["shown"] == (
        "A photo of a cat.")
