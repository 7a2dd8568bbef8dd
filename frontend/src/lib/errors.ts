/**
 * The words a person reads for any failure. Hooks and components both need them, so they live here
 * rather than in a component: a thrown {@link ApiError} already carries the server's own message.
 */
import { ApiError, isAbortError } from "../api";

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (isAbortError(err)) return "The request was cancelled.";
  if (err instanceof Error) return err.message || err.name;
  if (err == null || err === "") return "Something went wrong.";
  return String(err);
}
