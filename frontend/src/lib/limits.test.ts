import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, limitsFrom } from "./limits";

describe("limitsFrom", () => {
  it("reads the server's limits", () => {
    expect(limitsFrom({ limits: { max_query_length: 300, max_upload_mb: 50 } })).toEqual({ maxQueryLength: 300, maxUploadMb: 50 });
  });

  it("falls back when the server does not say (older server, failed health check)", () => {
    expect(limitsFrom(null)).toEqual(DEFAULT_LIMITS);
    expect(limitsFrom({})).toEqual(DEFAULT_LIMITS);
    expect(limitsFrom({ limits: { max_query_length: 0, max_upload_mb: Number.NaN } })).toEqual(DEFAULT_LIMITS);
  });
});
