import { describe, expect, it } from "vitest";
import { ApiError } from "../api";
import { errorText } from "./errors";

describe("errorText", () => {
  it("shows the server's message as is", () => {
    expect(errorText(new ApiError("A profile named x already exists", 409))).toBe("A profile named x already exists");
  });
  it("reads plain errors, aborts and odd values", () => {
    expect(errorText(new Error("boom"))).toBe("boom");
    expect(errorText(new DOMException("x", "AbortError"))).toBe("The request was cancelled.");
    expect(errorText(null)).toBe("Something went wrong.");
    expect(errorText("offline")).toBe("offline");
  });
});
