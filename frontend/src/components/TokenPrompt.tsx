import "./TokenPrompt.css";
import { useId, useState } from "react";
import { getToken, setToken } from "../api";

/** Asks for the server's access token (needed for changes when it listens beyond this computer). */
export function TokenPrompt({ onDone }: { onDone: () => void }) {
  const id = useId();
  const [value, setValue] = useState(getToken() ?? "");
  return (
    <form
      className="panel token-prompt"
      data-testid="token-prompt"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim() || null);
        onDone();
      }}
    >
      <label htmlFor={`${id}-token`} className="field-label">
        Access token
      </label>
      <p className="hint">
        This server accepts changes only with its access token (the server prints it when it starts). It is kept in
        this browser.
      </p>
      <div className="input-row">
        <input
          id={`${id}-token`}
          type="password"
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
        <button type="submit" className="btn btn-primary">
          Save
        </button>
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
