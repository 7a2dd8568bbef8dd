import { useEffect, useState } from "react";
import { api } from "../api";

/**
 * Queries drawn from the collection's own labels and captions (GET /api/profiles/<p>/suggestions).
 * Empty when the server has none or cannot say: no made-up chips for photos that are not there.
 */
export function useSuggestions(profile: string, photoCount: number): string[] {
  const [suggestions, setSuggestions] = useState<string[]>([]);
  useEffect(() => {
    if (photoCount === 0) {
      setSuggestions([]);
      return;
    }
    const ctrl = new AbortController();
    api.suggestions(profile, ctrl.signal).then(
      (list) => setSuggestions(list.filter((s) => typeof s === "string" && s.trim()).slice(0, 8)),
      () => setSuggestions([]),
    );
    return () => ctrl.abort();
    // refreshed when the collection grows or shrinks
  }, [profile, photoCount]);
  return suggestions;
}
