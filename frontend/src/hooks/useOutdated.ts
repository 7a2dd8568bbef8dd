import { useEffect, useState } from "react";
import { api } from "../api";

/**
 * How many of the collection's photos older models described (after an upgrade: `photosearch redescribe`, or
 * "Describe again", gives them today's descriptions); null while it is not known, or when the server cannot tell.
 * Asked for on its own (a scan of the collection on the server), again when `refresh` changes (the page bumps it
 * when a job finishes and when photos are deleted or restored) or the collection becomes empty or not.
 */
export function useOutdated(profile: string, photoCount: number, refresh: number): number | null {
  const [outdated, setOutdated] = useState<number | null>(null);
  const empty = photoCount === 0;
  useEffect(() => {
    if (empty) {
      setOutdated(0);
      return;
    }
    setOutdated(null); // unknown until the server answers: a finished "Describe again" must not show the old count
    const ctrl = new AbortController();
    api.outdated(profile, ctrl.signal).then(
      (found) => setOutdated(typeof found.photos === "number" ? found.photos : null),
      () => setOutdated(null),
    );
    return () => ctrl.abort();
    // not on every change of the count: during an ingest it changes every 2 s, and each answer is a scan
  }, [profile, empty, refresh]);
  return outdated;
}
