import "./WelcomePage.css";
import type { Profile } from "../api";
import { CreateProfileForm } from "../components/CreateProfileForm";

export function WelcomePage({ onCreated }: { onCreated: (p: Profile) => void }) {
  return (
    <div className="welcome" data-testid="welcome">
      <h1>Find any photo by describing it</h1>
      <p className="lead">
        Start a collection, add your photos, and search them with words like “dog on the beach” or “birthday cake”.
        Every photo is described for you.
      </p>
      <div className="panel welcome-form">
        <CreateProfileForm autoFocus onCreated={onCreated} />
      </div>
    </div>
  );
}
