import { useCallback, useState } from "react";
import { errorText } from "../lib/errors";

/**
 * One form's async action: `busy` while it runs, and the error it ended with, in plain words (lib/errors).
 * `run` resolves to whether the action succeeded, so a caller can clear its input only then.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
