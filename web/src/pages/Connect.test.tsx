import { fireEvent, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { apiError, fakeApi } from "../test/fakeApi";
import { renderAs } from "../test/render";
import { Connect, sessionIdOf } from "./Connect";

const SID = "Zq3-x_9yAbC";
const TOKEN = btoa(SID).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); // as the CLI encodes it
const params = (extra: Record<string, string> = {}) =>
  new URLSearchParams({ __token__: TOKEN, appName: " AIGNE CLI", source: "@aigne/cli connect to AIGNE hub", ...extra });

describe("Connect", () => {
  it("reads the CLI's token", () => {
    expect(sessionIdOf(TOKEN)).toBe(SID);
    expect(sessionIdOf("%%%")).toBeNull();
  });

  it("approves: the key is issued to the CLI, only its mask is shown", async () => {
    const api = fakeApi({
      "POST /.well-known/service/api/access-key/approve": { approved: true, key_id: "key_9",
                                                             name: "AIGNE CLI (aigne hub connect)", masked: "ah-x...wxyz" },
    });
    renderAs(<Connect params={params()} />);
    expect(screen.getByText("AIGNE CLI")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Approve" }));
    expect(await screen.findByText("ah-x...wxyz")).toBeTruthy();
    expect(api.calls("POST", "/.well-known/service/api/access-key/approve")[0].body)
      .toEqual({ token: TOKEN, appName: "AIGNE CLI" });
  });

  it("denies by ending the session, and shows a refusal", async () => {
    const api = fakeApi({ "DELETE /.well-known/service/api/access-key/session": {} });
    renderAs(<Connect params={params()} />);
    fireEvent.click(screen.getByRole("button", { name: "Deny" }));
    expect(await screen.findByText(/Denied: nothing was issued/)).toBeTruthy();
    expect(api.calls("DELETE", "/.well-known/service/api/access-key/session")[0].query.get("sid")).toBe(SID);
  });

  it("says why an approval failed", async () => {
    fakeApi({ "POST /.well-known/service/api/access-key/approve": apiError(404, "No such connect session.") });
    renderAs(<Connect params={params()} />);
    fireEvent.click(screen.getByRole("button", { name: "Approve" }));
    expect(await screen.findByText(/No such connect session/)).toBeTruthy();
  });
});
