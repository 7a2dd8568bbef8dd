/** The page's shareable state lives in the query string: ?profile=…&q=…&photo=… */
export interface UrlState {
  profile: string | null;
  q: string;
  photo: number | null;
}

export function parseUrlState(search: string): UrlState {
  const p = new URLSearchParams(search);
  const photo = Number.parseInt(p.get("photo") ?? "", 10);
  return {
    profile: p.get("profile") || null,
    q: p.get("q") ?? "",
    photo: Number.isFinite(photo) && photo > 0 ? photo : null,
  };
}

export function buildUrlSearch(s: UrlState): string {
  const p = new URLSearchParams();
  if (s.profile) p.set("profile", s.profile);
  if (s.q.trim()) p.set("q", s.q);
  if (s.photo != null) p.set("photo", String(s.photo));
  const str = p.toString();
  return str ? `?${str}` : "";
}
