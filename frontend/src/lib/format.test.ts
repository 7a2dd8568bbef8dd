import { describe, expect, it } from "vitest";
import {
  formatBytes,
  formatPercent,
  formatScore,
  groupByMonth,
  jobFraction,
  jobOutcome,
  jobTitle,
  monthKey,
  monthLabel,
  parseUrlList,
  plainReasons,
  plural,
  rawScores,
  shownSentence,
  sourceName,
} from "./format";

const noScores = { text: null, semantic: null, caption_semantic: null };

describe("plainReasons", () => {
  it("says which words matched where, and that the meaning is close, without numbers", () => {
    expect(
      plainReasons({ matched: ["dog", "beach"], matched_in: ["caption", "labels"], scores: { text: 3.2, semantic: 0.71, caption_semantic: null } }),
    ).toEqual([
      { text: "“dog”, “beach” in the caption, in the labels", kind: "text" },
      { text: "looks like your words", kind: "semantic" },
    ]);
  });

  it("takes the server's reasons when there are any", () => {
    const reasons = [{ text: "espresso (in labels, 90 %)", kind: "label" }];
    expect(plainReasons({ matched: ["x"], matched_in: [], scores: noScores, reasons })).toBe(reasons);
  });

  it("mentions the poster's text, and nothing when nothing is known", () => {
    expect(plainReasons({ matched: ["paris"], matched_in: ["poster"], scores: noScores })[0].text).toBe("“paris” in the poster's text");
    expect(plainReasons({ matched: [], matched_in: [], scores: noScores })).toEqual([]);
  });
});

describe("rawScores", () => {
  it("lists the numbers for the details toggle", () => {
    expect(rawScores({ score: 0.9, scores: { text: 2.5, semantic: 0.7123, caption_semantic: null } })).toBe(
      "score 0.90 · meaning 0.71 · words 2.50",
    );
  });
});

describe("jobs", () => {
  const job = { status: "done" as const, total: 3, done: 0, failed: 3, skipped: 0 };
  it("calls a job where every photo failed a failure", () => {
    expect(jobOutcome(job)).toBe("failed");
    expect(jobOutcome({ ...job, done: 1, failed: 2 })).toBe("partial");
    expect(jobOutcome({ ...job, done: 3, failed: 0 })).toBe("done");
    expect(jobOutcome({ ...job, status: "running" })).toBe("running");
    expect(jobOutcome({ ...job, status: "cancelled" })).toBe("cancelled");
  });
  it("titles a card by the server's title, else by its kind", () => {
    expect(jobTitle({ id: 4, kind: "folder", title: "Folder /home/me/Pictures into Été" })).toBe("Folder /home/me/Pictures into Été");
    expect(jobTitle({ id: 4, kind: "instagram_profile" })).toBe("Instagram profile #4");
  });
});

describe("dates and sizes", () => {
  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 bytes");
    expect(formatBytes(820_400)).toBe("820 KB");
    expect(formatBytes(2_412_000)).toBe("2.4 MB");
    expect(formatBytes(null)).toBe("");
  });

  it("groups consecutive photos by the month written in their date", () => {
    const photos = [
      { id: 1, taken_at: "2024-05-31T23:30:00+02:00" },
      { id: 2, taken_at: "2024-05-02" },
      { id: 3, taken_at: "2023-12-24T10:00:00Z" },
      { id: 4, taken_at: null },
    ];
    expect(groupByMonth(photos).map((g) => [g.key, g.photos.map((p) => p.id)])).toEqual([
      ["2024-05", [1, 2]],
      ["2023-12", [3]],
      ["", [4]],
    ]);
    expect(monthKey("2024-05-31T23:30:00+02:00")).toBe("2024-05");
    expect(monthLabel("")).toBe("Undated");
    expect(monthLabel("2024-05")).toMatch(/2024/);
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

describe("shownSentence", () => {
  const description = { caption: "a dog on grass", caption_confidence: 0.2, grounded_caption: "a cat", shown: "grounded" as const };
  it("shows the labels' sentence when the server chose it, else the caption", () => {
    expect(shownSentence({ caption: "a dog on grass", description })).toEqual({ text: "a cat", grounded: true });
    expect(shownSentence({ caption: "a dog on grass", description: { ...description, shown: "caption" } })).toEqual({
      text: "a dog on grass",
      grounded: false,
    });
    expect(shownSentence({ caption: "a dog", description: undefined })).toEqual({ text: "a dog", grounded: false });
  });
});
