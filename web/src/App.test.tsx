import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { apiError, dashboardRoutes, fakeApi, models, signedInAs } from "./test/fakeApi";

const userDashboard = Object.fromEntries(Object.entries(dashboardRoutes).map(([k, v]) => [k.replace("/admin/usage/", "/v1/usage/"), v]));

function signIn(key: string) {
  fireEvent.change(screen.getByLabelText("aihub key"), { target: { value: key } });
  fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
}

describe("signing in", () => {
  it("an admin key sees every page", async () => {
    const api = fakeApi({ "GET /v1/models": models, "GET /admin/keys": { object: "list", data: [] }, ...dashboardRoutes });
    render(<App />);
    signIn("ah-admin");
    expect(await screen.findByText("Admin")).toBeTruthy();
    for (const page of ["Dashboard", "Providers", "Model rates", "Keys & accounts", "Usage", "Playground"]) {
      expect(screen.getByRole("link", { name: page })).toBeTruthy();
    }
    expect(sessionStorage.getItem("aihub.key")).toBe("ah-admin");
    expect(api.calls("GET", "/admin/keys")[0].headers.authorization).toBe("Bearer ah-admin");
    expect(await screen.findByRole("heading", { name: "Dashboard" })).toBeTruthy();
  });

  it("a user key (403 on /admin/keys) sees its own account only", async () => {
    fakeApi({ "GET /v1/models": models, "GET /admin/keys": apiError(403, "This route needs an admin key."), ...userDashboard });
    render(<App />);
    signIn("ah-user");
    expect(await screen.findByText("User")).toBeTruthy();
    expect(screen.queryByRole("link", { name: "Providers" })).toBeNull();
    expect(screen.getByRole("link", { name: "My account" })).toBeTruthy();
  });

  it("a wrong key stays on the sign-in page with the reason", async () => {
    fakeApi({ "GET /v1/models": apiError(401, "Invalid API key (****).", "invalid_api_key") });
    render(<App />);
    signIn("nope");
    expect((await screen.findByRole("alert")).textContent).toContain("aihub did not accept this key: Invalid API key");
    expect(sessionStorage.getItem("aihub.key")).toBeNull();
  });

  it("a key revoked while signed in goes back to sign-in with a message", async () => {
    signedInAs("ah-revoked-soon");
    fakeApi({
      "GET /v1/models": models,
      "GET /admin/keys": { object: "list", data: [] },
      ...dashboardRoutes,
      "GET /admin/usage/summary": apiError(401, "This key was revoked.", "invalid_api_key"),
    });
    render(<App />);
    expect((await screen.findByRole("alert")).textContent).toMatch(/signed out: aihub no longer accepts this key \(This key was revoked\.\)/);
    expect(screen.getByLabelText("aihub key")).toBeTruthy();
    await waitFor(() => expect(sessionStorage.getItem("aihub.key")).toBeNull());
  });
});
