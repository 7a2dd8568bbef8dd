import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, limitsFrom, uploadProblem } from "./limits";

describe("limitsFrom", () => {
  it("reads the server's limits", () => {
    expect(
      limitsFrom({ limits: { max_query_length: 300, max_upload_mb: 500, max_photo_mb: 50, max_url_list_entries: 1000 } }),
    ).toEqual({ maxQueryLength: 300, maxUploadMb: 500, maxPhotoMb: 50, maxUrls: 1000 });
  });

  it("falls back when the server does not say (older server, failed health check)", () => {
    expect(limitsFrom(null)).toEqual(DEFAULT_LIMITS);
    expect(limitsFrom({})).toEqual(DEFAULT_LIMITS);
    expect(limitsFrom({ limits: { max_query_length: 0, max_upload_mb: Number.NaN } })).toEqual(DEFAULT_LIMITS);
  });
});

describe("uploadProblem", () => {
  const limits = { ...DEFAULT_LIMITS, maxUploadMb: 10, maxPhotoMb: 4 };
  it("lets through what fits, and everything when the limits are unknown", () => {
    expect(uploadProblem([{ name: "a.jpg", size: 3e6 }, { name: "b.jpg", size: 3e6 }], limits)).toBeNull();
    expect(uploadProblem([{ name: "a.jpg", size: 9e9 }], DEFAULT_LIMITS)).toBeNull();
  });
  it("names a photo over the per-photo limit and a batch over the upload limit", () => {
    expect(uploadProblem([{ name: "huge.jpg", size: 5.2e6 }], limits)).toBe("huge.jpg is 5.2 MB; the server takes photos up to 4 MB.");
    expect(uploadProblem(Array.from({ length: 4 }, (_, i) => ({ name: `${i}.jpg`, size: 3e6 })), limits)).toMatch(
      /12 MB together; the server takes at most 10 MB per upload/,
    );
  });
});
