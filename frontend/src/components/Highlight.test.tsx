import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { SearchResult } from "../api";
import { Highlight } from "./Highlight";
import { labelMatches, PhotoCard, type CardActions } from "./PhotoCard";

describe("Highlight", () => {
  it("marks the matched segments", () => {
    const html = renderToStaticMarkup(
      <Highlight
        segments={[
          { text: "a ", match: false },
          { text: "dog", match: true },
          { text: " on the ", match: false },
          { text: "beach", match: true },
        ]}
        fallback="ignored"
      />,
    );
    expect(html).toBe(
      '<span><span>a </span><mark class="hl">dog</mark><span> on the </span><mark class="hl">beach</mark></span>',
    );
  });

  it("renders markup in captions as text, never as HTML", () => {
    const html = renderToStaticMarkup(
      <Highlight segments={[{ text: "<img src=x onerror=alert(1)>", match: true }]} fallback={null} />,
    );
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("falls back to the plain caption without segments", () => {
    expect(renderToStaticMarkup(<Highlight segments={[]} fallback="a cat" />)).toBe("<span>a cat</span>");
    expect(renderToStaticMarkup(<Highlight segments={null} fallback={null} />)).toBe("<span></span>");
  });
});

describe("ResultCard", () => {
  const result: SearchResult = {
    photo: {
      id: 7,
      profile: "p",
      source: "upload:coffee.jpg",
      thumbnail_url: "/api/photos/7/thumbnail",
      image_url: "/api/photos/7/image",
      caption: "a cup of coffee on a saucer",
      labels: [
        { label: "espresso", score: 0.82 },
        { label: "cup", score: 0.1 },
      ],
      poster_caption: null,
      taken_at: null,
      width: 400,
      height: 300,
    },
    score: 0.9,
    scores: { text: 2.5, semantic: 0.71, caption_semantic: null },
    matched: ["espresso"],
    matched_in: ["labels"],
    highlight: [{ text: "a cup of coffee on a saucer", match: false }],
  };

  const actions = (selected = false): CardActions => ({
    href: (id) => `?photo=${id}`,
    onOpen: () => {},
    onSelect: () => {},
    isSelected: () => selected,
    selecting: selected,
  });

  it("shows the thumbnail, caption, labels and why it matched, in plain words", () => {
    const html = renderToStaticMarkup(<PhotoCard photo={result.photo} result={result} rank={1} actions={actions()} />);
    expect(html).toContain('data-testid="result-card"');
    expect(html).toContain('data-source="upload:coffee.jpg"');
    expect(html).toContain('src="/api/photos/7/thumbnail"');
    expect(html).toContain("a cup of coffee on a saucer");
    expect(html).toContain('class="chip chip-match"');
    expect(html).toContain("“espresso” in the labels · looks like your words");
    expect(html).not.toContain("0.71"); // raw scores stay in the photo view's details
  });

  it("prefers the server's reasons", () => {
    const withReasons = { ...result, reasons: [{ text: "espresso (in labels, 82 %)", kind: "label" }] };
    const html = renderToStaticMarkup(<PhotoCard photo={result.photo} result={withReasons} rank={1} actions={actions()} />);
    expect(html).toContain("espresso (in labels, 82 %)");
    expect(html).not.toContain("looks like your words");
  });

  it("is a plain thumbnail on the timeline, and shows when it is selected", () => {
    const html = renderToStaticMarkup(<PhotoCard photo={result.photo} actions={actions(true)} />);
    expect(html).toContain('data-testid="timeline-card"');
    expect(html).toContain('data-selected="true"');
    expect(html).toContain('aria-pressed="true"');
    expect(html).not.toContain("result-caption");
  });

  it("matches labels word by word", () => {
    expect(labelMatches({ label: "Egyptian cat", score: 1 }, ["cat"])).toBe(true);
    expect(labelMatches({ label: "catamaran", score: 1 }, ["cat"])).toBe(false);
  });
});
