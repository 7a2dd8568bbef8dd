import { createContext, useContext } from "react";
import { DEFAULT_LIMITS, type PageLimits } from "../lib/limits";

/** The server's limits from /api/health, provided by <App>; the fallbacks until it answers. */
export const LimitsContext = createContext<PageLimits>(DEFAULT_LIMITS);

export function useLimits(): PageLimits {
  return useContext(LimitsContext);
}
