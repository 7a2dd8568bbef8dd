import { useEffect, useState } from "react";
import { api } from "../api";

/**
 * How many of the collection's photos older models described (after an upgrade: `photosearch redescribe`, or
 * "Describe again", gives them today's descriptions); 0 when none or when it cannot be told. Asked for on its own
 * (a scan of the collection on the server), again when the collection changes or `refresh` does.
 */
export function useOutdated(profile: string, photoCount: number, refresh: number): number {
  const [outdated, setOutdated] = useState(0);
  useEffect(() => {
    if (photoCount === 0) {
      setOutdated(0);
      return;
    }
    setOutdated(0); // unknown until the server answers: a finished "Describe again" must not show the old count
    const ctrl = new AbortController();
    api.outdated(profile, ctrl.signal).then(
      (found) => setOutdated(typeof found.photos === "number" ? found.photos : 0),
      () => setOutdated(0),
    );
    return () => ctrl.abort();
  }, [profile, photoCount, refresh]);
  return outdated;
}
