import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { fakeApi } from "../test/fakeApi";
import { renderAs } from "../test/render";
import { Keys } from "./Keys";

const key = {
  id: "key_1", name: "ci", account_id: "acct_1", role: "user", masked: "ah-A...wxyz", rpm: null, tpm: null,
  daily_cap: null, monthly_cap: null, created_at: 1_700_000_000_000, expires_at: null, revoked: false, revoked_at: null,
};

describe("Keys", () => {
  it("shows a new key once, with a copy button", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    const api = fakeApi({
      "GET /admin/keys": { object: "list", data: [] },
      "GET /admin/accounts": { object: "list", data: [] },
      "POST /admin/keys": { ...key, key: "ah-SECRET-raw-key-value", credits: 25 },
    });
    renderAs(<Keys />, { admin: true });
    expect(await screen.findByText("No key yet.")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "ci" } });
    fireEvent.change(screen.getByLabelText("Starting credits"), { target: { value: "25" } });
    fireEvent.click(screen.getByRole("button", { name: "Create key" }));
    const shown = (await screen.findByLabelText("The new key")) as HTMLInputElement;
    expect(shown.value).toBe("ah-SECRET-raw-key-value");
    expect(api.calls("POST", "/admin/keys")[0].body).toEqual({ name: "ci", role: "user", credits: 25 });
    fireEvent.click(screen.getByRole("button", { name: "Copy key" }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith("ah-SECRET-raw-key-value"));
    expect(await screen.findByRole("button", { name: "Copied" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "I have copied it" }));
    expect(screen.queryByLabelText("The new key")).toBeNull();
  });

  it("sets limits and revokes after a confirmation", async () => {
    const api = fakeApi({
      "GET /admin/keys": { object: "list", data: [key] },
      "GET /admin/accounts": { object: "list", data: [{ id: "acct_1", name: "ci", balance: 5, reserved: 0, created_at: 1 }] },
      "PATCH /admin/keys/key_1": { ...key, rpm: 60 },
      "DELETE /admin/keys/key_1": { ...key, revoked: true },
    });
    renderAs(<Keys />, { admin: true });
    fireEvent.click(await screen.findByRole("button", { name: "Limits of ci" }));
    fireEvent.change(screen.getByLabelText("Requests per minute"), { target: { value: "60" } });
    fireEvent.change(screen.getByLabelText("Daily cap (credits)"), { target: { value: "2.5" } });
    fireEvent.click(screen.getByRole("button", { name: "Save limits" }));
    await waitFor(() => expect(api.calls("PATCH", "/admin/keys/key_1")).toHaveLength(1));
    expect(api.calls("PATCH", "/admin/keys/key_1")[0].body).toEqual({ rpm: 60, tpm: null, daily_cap: 2.5, monthly_cap: null });

    fireEvent.click(screen.getByRole("button", { name: "Revoke" }));
    expect(api.calls("DELETE", "/admin/keys/key_1")).toHaveLength(0);
    fireEvent.click(screen.getByRole("button", { name: "Revoke ci" }));
    await waitFor(() => expect(api.calls("DELETE", "/admin/keys/key_1")).toHaveLength(1));
  });

  it("grants credits to an account and shows its ledger", async () => {
    window.location.hash = "#/keys?account=acct_1";
    const api = fakeApi({
      "GET /admin/keys": { object: "list", data: [key] },
      "GET /admin/accounts": { object: "list", data: [{ id: "acct_1", name: "ci", balance: 5, reserved: 0, created_at: 1 }] },
      "GET /admin/accounts/acct_1": { account_id: "acct_1", balance: 5, granted: 5, used: 0, reserved: 0, keys: [key] },
      "GET /admin/accounts/acct_1/ledger": { object: "list", data: [
        { id: 1, kind: "grant", amount: 5, request_id: null, key_id: null, note: "welcome", expires_at: null, created_at: 1_700_000_000_000 },
      ], has_more: false, next_cursor: null },
      "POST /admin/accounts/acct_1/credits": { account_id: "acct_1", balance: 15, granted: 15, used: 0, reserved: 0 },
    });
    renderAs(<Keys />, { admin: true });
    expect(await screen.findByText("welcome")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Amount (credits)"), { target: { value: "10" } });
    fireEvent.click(screen.getByRole("button", { name: "Grant" }));
    expect(await screen.findByText("Added 10 credits (grant).")).toBeTruthy();
    expect(api.calls("POST", "/admin/accounts/acct_1/credits")[0].body).toEqual({ amount: 10, kind: "grant" });
  });
});
