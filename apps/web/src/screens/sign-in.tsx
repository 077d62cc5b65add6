import { type FormEvent, useState } from 'react';
import { signIn } from '../api';

/** The token is posted once and kept only in an HttpOnly cookie: never in a URL or in storage. */
export const SignIn = ({ onSignedIn, reason }: { onSignedIn: () => void; reason?: string | undefined }) => {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const failure = await signIn(token.trim()).catch((err: unknown) => String(err));
    setBusy(false);
    if (failure) setError(failure);
    else onSignedIn();
  };
  return (
    <main className="sign-in">
      <h1>Trainyard</h1>
      <form onSubmit={(event) => void submit(event)}>
        {reason && !error && (
          <p className="state" role="status">
            {reason}
          </p>
        )}
        <label htmlFor="token">Session token</label>
        <input id="token" type="password" autoComplete="off" value={token} onChange={(event) => setToken(event.target.value)} required autoFocus />
        <p className="muted">
          Run <code>npx trainyard ui</code> to see this server's address and token (the desktop app signs in by itself).
        </p>
        {error && (
          <p className="state error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
    </main>
  );
};
