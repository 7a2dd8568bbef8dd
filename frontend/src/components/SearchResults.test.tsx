import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { Job, SearchResult } from "../api";
import { JobProgress } from "./JobProgress";
import type { CardActions } from "./PhotoCard";
import { SearchResults, splitByStrength, type ShownSearch } from "./SearchResults";

const actions: CardActions = { href: (id) => `?photo=${id}`, onOpen: () => {}, onSelect: () => {}, isSelected: () => false, selecting: false };

function result(id: number, strong?: boolean): SearchResult {
  return {
    photo: {
      id,
      profile: "p",
      source: `upload:${id}.jpg`,
      thumbnail_url: `/api/photos/${id}/thumbnail`,
      image_url: `/api/photos/${id}/image`,
      caption: `photo ${id}`,
      labels: [],
      poster_caption: null,
      taken_at: null,
      width: 10,
      height: 10,
    },
    score: 1 / id,
    scores: { text: null, semantic: 0.5, caption_semantic: null },
    matched: [],
    matched_in: [],
    highlight: [],
    strong,
  };
}

const base: ShownSearch = { query: "cat", results: [], total: 0, matches: 0, didYouMean: null, notice: null, loadingMore: false };
const render = (search: ShownSearch, suggestions: string[] = []) =>
  renderToStaticMarkup(
    <SearchResults search={search} sortLabel="best first" suggestions={suggestions} actions={actions} stale={false} onQuery={() => {}} onMore={() => {}} />,
  );

describe("SearchResults", () => {
  it("shows the matches and folds the weaker ones away", () => {
    const html = render({ ...base, results: [result(1, true), result(2, true), result(3, false)], total: 3, matches: 2 });
    expect(html).toContain("2 photos match “cat”, best first");
    expect(html).toMatch(/data-testid="results"[^]*data-photo-id="1"[^]*data-photo-id="2"[^]*data-testid="weaker"/);
    expect(html).toContain("1 weaker match");
    expect(html).not.toMatch(/<details[^>]*open/);
  });

  it("says when nothing matches, with the collection's suggestions", () => {
    const html = render({ ...base, results: [result(3, false)], total: 1, matches: 0 }, ["dog", "beach"]);
    expect(html).toContain("No photo matches <strong>“cat”</strong>");
    expect(html).toMatch(/data-testid="suggestion"[^>]*>dog</);
    expect(html).toContain("1 weaker match");
  });

  it("offers the spelling it found, and shows the server's notice instead of 'no match'", () => {
    expect(render({ ...base, didYouMean: "astronaut" })).toMatch(/Did you mean[^]*>astronaut<\/button>/);
    const corrected = render({ ...base, query: "astronot", didYouMean: "astronaut", searchedFor: "astronaut", results: [result(1, true)], total: 1, matches: 1 });
    expect(corrected).toContain("The photos below are for “astronaut”.");
    expect(corrected).toContain("1 photo matches “astronaut”");
    const html = render({ ...base, query: "猫", notice: "No usable English words in “猫”." });
    expect(html).toContain("No usable English words in “猫”.");
    expect(html).not.toContain("no-results");
  });

  it("treats results from a server without a cut-off as matches", () => {
    expect(splitByStrength([result(1), result(2)]).strong).toHaveLength(2);
  });
});

describe("JobProgress", () => {
  const job: Job = {
    id: 9,
    profile: "p",
    kind: "upload",
    title: "2 files into Été",
    status: "done",
    total: 2,
    done: 0,
    failed: 2,
    skipped: 0,
    error: null,
    failures: [],
    created_at: "",
    finished_at: "",
  };

  it("titles the card by the server's title and calls an all-failed job failed", () => {
    const html = renderToStaticMarkup(<JobProgress job={job} />);
    expect(html).toContain("2 files into Été");
    expect(html).toContain('data-outcome="failed"');
    expect(html).toContain("Failed: none of the photos could be used");
  });

  it("counts photos already in the collection apart, and offers Cancel while running", () => {
    const html = renderToStaticMarkup(
      <JobProgress job={{ ...job, status: "running", done: 1, failed: 0, already: 1 }} onCancel={async () => {}} />,
    );
    expect(html).toContain("1 already in the collection");
    expect(html).toContain('data-testid="job-cancel"');
    expect(renderToStaticMarkup(<JobProgress job={job} onCancel={async () => {}} />)).not.toContain("job-cancel");
  });
});
