import { describe, expect, it } from "vitest";
import { describeMatch, formatPercent, formatScore, jobFraction, parseUrlList, plural, sourceName } from "./format";

describe("describeMatch", () => {
  it("says which words matched where, and the semantic score", () => {
    expect(
      describeMatch({
        matched: ["dog", "beach"],
        matched_in: ["caption", "labels"],
        scores: { text: 3.2, semantic: 0.7123, caption_semantic: null },
      }),
    ).toBe("matched: dog, beach (caption, labels) · semantic 0.71 · text 3.20");
  });

  it("falls back to the semantic score alone", () => {
    expect(describeMatch({ matched: [], matched_in: [], scores: { text: null, semantic: 0.5, caption_semantic: 0.25 } })).toBe(
      "semantic 0.50 · caption 0.25",
    );
  });

  it("mentions the poster's text", () => {
    expect(describeMatch({ matched: ["paris"], matched_in: ["poster"], scores: { text: null, semantic: null, caption_semantic: null } })).toBe(
      "matched: paris (poster's text)",
    );
  });

  it("is empty when nothing is known", () => {
    expect(describeMatch({ matched: [], matched_in: [], scores: { text: null, semantic: null, caption_semantic: null } })).toBe("");
  });
});

describe("formatting", () => {
  it("formats scores and percentages", () => {
    expect(formatScore(0.71234)).toBe("0.71");
    expect(formatScore(null)).toBe("–");
    expect(formatPercent(0.873)).toBe("87%");
    expect(formatPercent(0.001)).toBe("<1%");
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(1.5)).toBe("100%");
  });

  it("pluralises", () => {
    expect(plural(1, "photo")).toBe("1 photo");
    expect(plural(0, "photo")).toBe("0 photos");
    expect(plural(2, "address", "addresses")).toBe("2 addresses");
  });

  it("names a source by its last part", () => {
    expect(sourceName("/home/me/Pictures/cat.jpg")).toBe("cat.jpg");
    expect(sourceName("https://example.com/a/b/dog%20park.png?x=1")).toBe("dog park.png");
    expect(sourceName("upload:coffee.jpg")).toBe("coffee.jpg");
    expect(sourceName("C:\\photos\\x.jpg")).toBe("x.jpg");
  });
});

describe("jobFraction", () => {
  it("counts done, failed and skipped photos", () => {
    expect(jobFraction({ status: "running", total: 10, done: 3, failed: 1, skipped: 1 })).toBe(0.5);
    expect(jobFraction({ status: "running", total: 0, done: 0, failed: 0, skipped: 0 })).toBe(0);
    expect(jobFraction({ status: "done", total: 0, done: 0, failed: 0, skipped: 0 })).toBe(1);
    expect(jobFraction({ status: "running", total: 2, done: 5, failed: 0, skipped: 0 })).toBe(1);
  });
});

describe("parseUrlList", () => {
  it("takes one address per line, drops blanks and repeats, reports the rest", () => {
    expect(parseUrlList(" https://a.example/1.jpg \n\nhttp://b.example/2.png\nhttps://a.example/1.jpg\nnot a url\r\n")).toEqual({
      urls: ["https://a.example/1.jpg", "http://b.example/2.png"],
      invalid: ["not a url"],
    });
  });
});
