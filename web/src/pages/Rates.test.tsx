import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { fakeApi } from "../test/fakeApi";
import { renderAs } from "../test/render";
import { Rates } from "./Rates";

const rate = {
  id: 7, provider: "openai", model: "gpt-4o-mini", type: "chat", deprecated: false, metadata: {}, second_rate: null, updated_at: 1,
  input_rate: 1.8e-7, output_rate: 7.2e-7, cache_read_rate: null, cache_write_rate: null, image_rate: null,
  input_cost_usd: 1.5e-7, output_cost_usd: 6e-7, cache_read_cost_usd: 7.5e-8, cache_write_cost_usd: null, image_cost_usd: null,
};
const providers = { object: "list", data: [{ name: "openai" }, { name: "demo" }] };

describe("Rates", () => {
  it("lists rates per million tokens beside the unit costs, and searches", async () => {
    const api = fakeApi({ "GET /admin/model-rates": { object: "list", data: [rate] }, "GET /admin/providers": providers });
    renderAs(<Rates />, { admin: true });
    const row = (await screen.findByText("openai/gpt-4o-mini")).closest("tr")!;
    expect(row.textContent).toContain("0.18");
    expect(row.textContent).toContain("0.72");
    expect(row.textContent).toContain("$0.15 / $0.6");
    fireEvent.change(screen.getByLabelText("Search"), { target: { value: "mini" } });
    await waitFor(() => expect(api.seen.some((s) => s.path === "/admin/model-rates" && s.query.get("search") === "mini")).toBe(true));
  });

  it("previews a bulk margin update as a dry run before applying it", async () => {
    const change = { provider: "openai", model: "gpt-4o-mini", type: "chat",
                     before: { input_rate: 1e-7, output_rate: 2e-7 }, after: { input_rate: 1.8e-7, output_rate: 7.2e-7 } };
    const api = fakeApi({
      "GET /admin/model-rates": { object: "list", data: [rate] },
      "GET /admin/providers": providers,
      "POST /admin/model-rates/bulk": (seen: any) => ({ object: "list", dry_run: seen.body.dry_run, count: 1, data: [change] }),
    });
    renderAs(<Rates />, { admin: true });
    fireEvent.change(await screen.findByLabelText("Margin (%)"), { target: { value: "20" } });
    fireEvent.change(screen.getByLabelText("Credit price (USD per credit)"), { target: { value: "1" } });
    fireEvent.click(screen.getByRole("button", { name: "Preview (dry run)" }));
    const preview = await screen.findByLabelText("Dry-run preview");
    expect(preview.textContent).toContain("nothing saved yet");
    expect(preview.textContent).toContain("0.18");
    expect(api.calls("POST", "/admin/model-rates/bulk")[0].body).toEqual({ margin: 0.2, credit_price: 1, source: "existing", dry_run: true });
    fireEvent.click(screen.getByRole("button", { name: "Apply to 1 model" }));
    expect(await screen.findByText("Updated the rates of 1 model.")).toBeTruthy();
    expect(api.calls("POST", "/admin/model-rates/bulk")[1].body.dry_run).toBe(false);
  });

  it("edits a rate and deprecates a model", async () => {
    const api = fakeApi({
      "GET /admin/model-rates": { object: "list", data: [rate] },
      "GET /admin/providers": providers,
      "PATCH /admin/model-rates/7": rate,
    });
    renderAs(<Rates />, { admin: true });
    fireEvent.click(await screen.findByRole("button", { name: "Edit openai/gpt-4o-mini" }));
    const editor = within(screen.getByRole("form", { name: "Edit openai/gpt-4o-mini" }));
    fireEvent.change(editor.getByLabelText("Output (credits / 1M tokens)"), { target: { value: "1" } });
    fireEvent.click(editor.getByRole("button", { name: "Save rate" }));
    await waitFor(() => expect(api.calls("PATCH", "/admin/model-rates/7")).toHaveLength(1));
    expect(api.calls("PATCH", "/admin/model-rates/7")[0].body).toEqual({ output_rate: 0.000001 });
    fireEvent.click(await screen.findByRole("button", { name: "Deprecate openai/gpt-4o-mini" }));
    await waitFor(() => expect(api.calls("PATCH", "/admin/model-rates/7")).toHaveLength(2));
    expect(api.calls("PATCH", "/admin/model-rates/7")[1].body).toEqual({ deprecated: true });
  });
});
