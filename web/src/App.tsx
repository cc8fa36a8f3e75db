import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { configureApi, describeError } from "./api";
import { Loading } from "./components/ui";
import { useHashRoute } from "./hooks";
import { Account } from "./pages/Account";
import { ApiReference } from "./pages/ApiReference";
import { Connect } from "./pages/Connect";
import { Dashboard } from "./pages/Dashboard";
import { Keys } from "./pages/Keys";
import { Playground } from "./pages/Playground";
import { Providers } from "./pages/Providers";
import { Rates } from "./pages/Rates";
import { SignIn } from "./pages/SignIn";
import { Usage } from "./pages/Usage";
import { SessionContext, checkKey, storeKey, storedKey, type Session } from "./session";

interface Page {
  path: string;
  label: string;
  adminOnly?: boolean;
  userOnly?: boolean;
  render: () => ReactNode;
}

const PAGES: Page[] = [
  { path: "/", label: "Dashboard", render: () => <Dashboard /> },
  { path: "/providers", label: "Providers", adminOnly: true, render: () => <Providers /> },
  { path: "/rates", label: "Model rates", adminOnly: true, render: () => <Rates /> },
  { path: "/keys", label: "Keys & accounts", adminOnly: true, render: () => <Keys /> },
  { path: "/account", label: "My account", userOnly: true, render: () => <Account /> },
  { path: "/usage", label: "Usage", render: () => <Usage /> },
  { path: "/playground", label: "Playground", render: () => <Playground /> },
  { path: "/api", label: "API", render: () => <ApiReference /> },
];

type State =
  | { phase: "checking"; key: string }
  | { phase: "signed-out"; message?: string }
  | { phase: "signed-in"; key: string; admin: boolean };

export function App() {
  const [state, setState] = useState<State>(() => {
    const key = storedKey();
    return key ? { phase: "checking", key } : { phase: "signed-out" };
  });

  const signOut = useCallback((message?: string) => {
    storeKey(null);
    configureApi(null);
    setState({ phase: "signed-out", message });
  }, []);

  const signedIn = useCallback((key: string, admin: boolean) => {
    storeKey(key);
    setState({ phase: "signed-in", key, admin });
  }, []);

  // A stored key is checked again on load: it may have been revoked, or changed role.
  useEffect(() => {
    if (state.phase !== "checking") return;
    const controller = new AbortController();
    checkKey(state.key, controller.signal).then(
      ({ admin }) => signedIn(state.key, admin),
      (error) => {
        if (!controller.signal.aborted) signOut(describeError(error));
      },
    );
    return () => controller.abort();
  }, [state, signedIn, signOut]);

  if (state.phase === "checking") {
    return <main className="center-page"><Loading label="Checking your key…" /></main>;
  }
  if (state.phase === "signed-out") {
    return <SignIn message={state.message} onSignedIn={signedIn} />;
  }
  return <Shell keyValue={state.key} admin={state.admin} signOut={signOut} />;
}

function Shell({ keyValue, admin, signOut }: { keyValue: string; admin: boolean; signOut: (m?: string) => void }) {
  // Set before any page renders, so the first requests already carry the key.
  configureApi(keyValue, (message) => signOut(`You were signed out: aihub no longer accepts this key (${message}). `
    + "It may have been revoked or have expired."));
  const session = useMemo<Session>(() => ({ key: keyValue, admin, signOut }), [keyValue, admin, signOut]);
  const route = useHashRoute();
  const pages = PAGES.filter((p) => (admin ? !p.userOnly : !p.adminOnly));
  // The page `aigne hub connect` opens is reached by its link only, never from the menu.
  const page: Pick<Page, "render"> | undefined = route.path === "/connect"
    ? { render: () => <Connect params={route.params} /> }
    : pages.find((p) => p.path === route.path);
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);

  // Moving to another page puts the focus on its heading region, as a full page load would.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    mainRef.current?.focus();
  }, [route.path]);

  return (
    <SessionContext.Provider value={session}>
      <a href="#main" className="skip-link" onClick={(e) => { e.preventDefault(); mainRef.current?.focus(); }}>
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href="#/">
          <span className="brand-mark" aria-hidden="true">A</span>aihub
        </a>
        <nav aria-label="Main" className="nav">
          {pages.map((p) => (
            <a key={p.path} href={`#${p.path}`} aria-current={p.path === route.path ? "page" : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <div className="who">
          <span className={`badge ${admin ? "badge-accent" : "badge-neutral"}`}>{admin ? "Admin" : "User"}</span>
          <button type="button" className="btn btn-small" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1} className="main">
        {page ? page.render() : (
          <div className="card">
            <h1>Page not found</h1>
            <p>
              There is no page at <code>{route.path}</code>{!admin && PAGES.some((p) => p.path === route.path)
                ? " for a user key (it needs an admin key)" : ""}. <a href="#/">Go to the dashboard</a>.
            </p>
          </div>
        )}
      </main>
    </SessionContext.Provider>
  );
}
