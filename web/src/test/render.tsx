import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { configureApi } from "../api";
import { SessionContext } from "../session";

/** A page as a signed-in user or admin sees it. */
export function renderAs(ui: ReactNode, { admin = false, key = "ah-test" } = {}) {
  configureApi(key);
  return render(<SessionContext.Provider value={{ key, admin, signOut: () => {} }}>{ui}</SessionContext.Provider>);
}
