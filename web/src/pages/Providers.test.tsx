import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { apiError, fakeApi } from "../test/fakeApi";
import { renderAs } from "../test/render";
import { Providers } from "./Providers";

const provider = {
  name: "openai", display_name: "openai", kind: "openai", base_url: "https://api.openai.com/v1", region: null, enabled: true,
  builtin: true, models: ["gpt-4o-mini"], credentials: { total: 1, active: 1, source: "database" },
};
const credential = {
  id: "cred_1", provider: "openai", name: "main", type: "api_key", masked: "sk-t...6789", weight: 1, active: true, error: null,
  fail_count: 0, usage_count: 3, last_used_at: null, last_checked_at: null, disabled_until: null, created_at: 1,
};

describe("Providers", () => {
  it("lists credentials masked, checks one live and shows why it fails", async () => {
    const api = fakeApi({
      "GET /admin/providers": { object: "list", data: [provider] },
      "GET /admin/providers/openai/credentials": { object: "list", data: [credential] },
      "POST /admin/credentials/cred_1/check": { ...credential, active: false, ok: false, reason: "401 Incorrect API key provided" },
      "PATCH /admin/credentials/cred_1": credential,
    });
    renderAs(<Providers />, { admin: true });
    expect(await screen.findByText("sk-t...6789")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Check now" }));
    expect(await screen.findByText("Live check failed: 401 Incorrect API key provided")).toBeTruthy();

    fireEvent.change(screen.getByLabelText("Weight of main"), { target: { value: "5" } });
    fireEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(api.calls("PATCH", "/admin/credentials/cred_1")[0]?.body).toEqual({ weight: 5 }));
    fireEvent.click(screen.getByRole("button", { name: "Disable" }));
    await waitFor(() => expect(api.calls("PATCH", "/admin/credentials/cred_1")[1]?.body).toEqual({ active: false }));
  });

  it("adds a credential, and says why the live check refused it", async () => {
    let attempt = 0;
    const api = fakeApi({
      "GET /admin/providers": { object: "list", data: [provider] },
      "GET /admin/providers/openai/credentials": { object: "list", data: [] },
      "POST /admin/providers/openai/credentials": () => (attempt++ === 0
        ? apiError(400, "The credential failed its live check: openai rejected the key (401).", "credential_check_failed")
        : { ...credential, id: "cred_2", name: "backup", masked: "sk-n...1234" }),
    });
    renderAs(<Providers />, { admin: true });
    const form = within(await screen.findByRole("form", { name: "Add a credential" }));
    fireEvent.change(form.getByLabelText("Name"), { target: { value: "backup" } });
    fireEvent.change(form.getByLabelText("API key"), { target: { value: "sk-new-secret-1234" } });
    fireEvent.click(form.getByRole("button", { name: "Add credential" }));
    expect((await form.findByRole("alert")).textContent).toContain("failed its live check: openai rejected the key (401)");
    expect(api.calls("POST", "/admin/providers/openai/credentials")[0].body).toEqual(
      { name: "backup", value: "sk-new-secret-1234", weight: 1, check: true });

    fireEvent.click(form.getByLabelText("Check it live with the provider first"));
    fireEvent.click(form.getByRole("button", { name: "Add credential" }));
    expect(await form.findByText("Added backup (sk-n...1234).")).toBeTruthy();
    expect(api.calls("POST", "/admin/providers/openai/credentials")[1].body.check).toBe(false);
    expect((form.getByLabelText("API key") as HTMLInputElement).value).toBe("");
  });
});
