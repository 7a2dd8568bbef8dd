import { useCallback, useEffect, useRef, useState } from "react";
import { api, ApiError, isJobFinished, type Job } from "../api";
import { errorText } from "../lib/errors";

export const JOB_POLL_MS = 500;
const RECENT_FINISHED = 3;
const DISMISSED_KEY = "photosearch.dismissedJobs";
const DISMISSED_KEEP = 200;

/** Job cards closed with × stay closed across reloads (ids kept in this browser). */
export function dismissedJobs(): Set<number> {
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(DISMISSED_KEY) ?? "[]");
    return new Set(Array.isArray(raw) ? raw.filter((x): x is number => typeof x === "number") : []);
  } catch {
    return new Set();
  }
}

function rememberDismissed(id: number): void {
  try {
    const ids = [...dismissedJobs(), id].slice(-DISMISSED_KEEP);
    localStorage.setItem(DISMISSED_KEY, JSON.stringify(ids));
  } catch {
    /* private mode: the card stays closed until the page reloads */
  }
}

/**
 * The ingest jobs of one profile: the ones already known to the server when the
 * profile is opened plus the ones started here. Unfinished jobs are polled every
 * {@link JOB_POLL_MS} ms; `onChange` hears about every job whose counts moved.
 */
export function useJobs(profile: string | null, onChange: (job: Job, finishedNow: boolean) => void) {
  const [jobs, setJobs] = useState<Job[]>([]);
  const [pollError, setPollError] = useState<string | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const jobsRef = useRef(jobs);
  jobsRef.current = jobs;

  // load the profile's jobs when it changes
  useEffect(() => {
    setJobs([]);
    setPollError(null);
    if (!profile) return;
    const ctrl = new AbortController();
    api.listJobs(profile, ctrl.signal).then(
      (list) => {
        const dismissed = dismissedJobs();
        const active = list.filter((j) => !isJobFinished(j));
        const recent = list.filter((j) => isJobFinished(j) && !dismissed.has(j.id)).slice(0, RECENT_FINISHED);
        setJobs([...active, ...recent].sort((a, b) => b.id - a.id));
      },
      () => {
        /* the job list is a nicety; the page works without it */
      },
    );
    return () => ctrl.abort();
  }, [profile]);

  const hasActive = jobs.some((j) => !isJobFinished(j));

  useEffect(() => {
    if (!hasActive) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ctrl = new AbortController();
    let failures = 0;

    const tick = async () => {
      const active = jobsRef.current.filter((j) => !isJobFinished(j));
      try {
        const fresh = await Promise.all(
          active.map((j) =>
            api.getJob(j.id, ctrl.signal).catch((err: unknown) => {
              if (err instanceof ApiError && err.status === 404) {
                return { ...j, status: "failed", error: "This job is no longer known to the server." } as Job;
              }
              throw err;
            }),
          ),
        );
        if (stopped) return;
        failures = 0;
        setPollError(null);
        const changes: [Job, boolean][] = [];
        for (const upd of fresh) {
          const old = jobsRef.current.find((j) => j.id === upd.id);
          if (!old) continue;
          const moved =
            upd.status !== old.status || upd.done !== old.done || upd.failed !== old.failed || upd.total !== old.total;
          if (moved) changes.push([upd, isJobFinished(upd) && !isJobFinished(old)]);
        }
        const byId = new Map(fresh.map((j) => [j.id, j]));
        setJobs((prev) => prev.map((old) => byId.get(old.id) ?? old));
        for (const [job, finishedNow] of changes) onChangeRef.current(job, finishedNow);
      } catch (err) {
        if (stopped) return;
        failures++;
        if (failures >= 3) setPollError(`Lost touch with the server (${errorText(err)}); still trying…`);
      }
      if (!stopped) timer = setTimeout(tick, failures ? Math.min(JOB_POLL_MS * 2 ** failures, 5000) : JOB_POLL_MS);
    };
    timer = setTimeout(tick, JOB_POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [hasActive]);

  const addJob = useCallback((job: Job) => {
    setJobs((prev) => [job, ...prev.filter((j) => j.id !== job.id)]);
    if (isJobFinished(job)) onChangeRef.current(job, true);
  }, []);

  const dismiss = useCallback((id: number) => {
    rememberDismissed(id);
    setJobs((prev) => prev.filter((j) => j.id !== id));
  }, []);

  /** Ask the server to stop a job; photos already added stay. Throws the server's refusal. */
  const cancel = useCallback(async (id: number) => {
    const job = await api.cancelJob(id);
    if (job && typeof job === "object" && "id" in job) {
      const wasRunning = jobsRef.current.some((j) => j.id === id && !isJobFinished(j));
      setJobs((prev) => prev.map((j) => (j.id === id ? job : j)));
      if (wasRunning && isJobFinished(job)) onChangeRef.current(job, true);
    }
  }, []);

  return { jobs, addJob, dismiss, cancel, pollError };
}
