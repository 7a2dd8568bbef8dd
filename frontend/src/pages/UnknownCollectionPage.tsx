import { profileLabel, type Profile } from "../api";
import { CreateProfileForm } from "../components/CreateProfileForm";
import { plural } from "../lib/format";
import "./WelcomePage.css";

/** A shared link named a collection this server does not have: say so, and offer the ones it has. */
export function UnknownCollectionPage({
  name,
  profiles,
  onSelect,
  onCreated,
}: {
  name: string;
  profiles: Profile[];
  onSelect: (name: string) => void;
  onCreated: (p: Profile) => void;
}) {
  return (
    <div className="welcome" data-testid="unknown-collection" role="alert">
      <h1>There is no collection “{name}” here</h1>
      <p className="lead">
        The link you followed names a collection this server does not have — it may have been deleted or renamed, or
        the link comes from another computer.
      </p>
      {profiles.length > 0 ? (
        <ul className="collection-list">
          {profiles.map((p) => (
            <li key={p.name}>
              <button type="button" className="btn" onClick={() => onSelect(p.name)}>
                Open “{profileLabel(p)}” <span className="muted">({plural(p.photo_count, "photo")})</span>
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <div className="panel welcome-form">
          <CreateProfileForm onCreated={onCreated} />
        </div>
      )}
    </div>
  );
}
