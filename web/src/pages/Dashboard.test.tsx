import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { apiError, dashboardRoutes, fakeApi } from "../test/fakeApi";
import { renderAs } from "../test/render";
import { Dashboard } from "./Dashboard";

describe("Dashboard", () => {
  it("shows totals, latency percentiles, charts, top models and provider health", async () => {
    fakeApi({
      ...dashboardRoutes,
      "GET /admin/providers": { object: "list", data: [
        { name: "openai", display_name: "openai", kind: "openai", enabled: true, builtin: true, models: [], credentials: { total: 1, active: 1, source: "database" } },
        { name: "xai", display_name: "xai", kind: "openai", enabled: true, builtin: true, models: [], credentials: { total: 2, active: 0, source: "database" } },
      ] },
    });
    renderAs(<Dashboard />, { admin: true });
    expect(await screen.findByText("57 in · 90 out")).toBeTruthy(); // tokens
    expect(screen.getAllByText("13 ms").length).toBeGreaterThan(0); // median latency
    expect(screen.getByText("median · p95 80 ms")).toBeTruthy();
    expect(screen.getByRole("img", { name: /^Calls and errors\./ })).toBeTruthy();
    expect(screen.getByText("demo/echo")).toBeTruthy();
    expect(screen.getByText("all 2 credentials disabled")).toBeTruthy();
    expect(await screen.findByText("available")).toBeTruthy();
  });

  it("asks the user routes for a user key, and changes the range", async () => {
    const routes = Object.fromEntries(Object.entries(dashboardRoutes).map(([k, v]) => [k.replace("/admin/usage/", "/v1/usage/"), v]));
    const api = fakeApi(routes);
    renderAs(<Dashboard />);
    await screen.findByText("57 in · 90 out");
    expect(api.calls("GET", "/admin/providers")).toHaveLength(0);
    expect(api.calls("GET", "/v1/usage/timeseries")[0].query.get("granularity")).toBe("hour");
    fireEvent.click(screen.getByRole("button", { name: "30d" }));
    await waitFor(() => expect(api.calls("GET", "/v1/usage/timeseries")[1]?.query.get("granularity")).toBe("day"));
  });

  it("shows the error and a retry when usage cannot load", async () => {
    fakeApi({ ...dashboardRoutes, "GET /admin/usage/summary": apiError(500, "database is locked") });
    renderAs(<Dashboard />, { admin: true });
    expect((await screen.findByRole("alert")).textContent).toContain("database is locked");
    expect(screen.getByRole("button", { name: "Try again" })).toBeTruthy();
  });
});
