import { fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { apiError, fakeApi } from "../test/fakeApi";
import { spec } from "../test/openapiSpec";
import { renderAs } from "../test/render";
import { ApiReference } from "./ApiReference";

const open = (element: HTMLElement) => {
  const details = element.closest("details")!;
  details.open = true;
  fireEvent(details, new Event("toggle"));
  return details;
};

describe("ApiReference", () => {
  it("loads /openapi.json and lists each tag's operations with method, path and auth", async () => {
    const api = fakeApi({ "GET /openapi.json": spec });
    renderAs(<ApiReference />);
    const openai = (await screen.findByRole("heading", { name: "OpenAI" })).closest("section")!;
    expect(api.calls("GET", "/openapi.json")).toHaveLength(1);
    expect(screen.getAllByRole("heading", { level: 2 }).map((h) => h.textContent)).toEqual(["System", "OpenAI", "Admin"]);
    const chat = within(openai).getByText("/v1/chat/completions").closest("summary")!;
    expect(chat.textContent).toContain("POST");
    expect(chat.textContent).toContain("key");
    const health = screen.getByText("/health").closest("summary")!;
    expect(health.textContent).toContain("no key");
    expect(screen.getByText("/admin/keys").closest("summary")!.textContent).toContain("admin key");
    expect(screen.getByText(/aihub 1\.2\.3, OpenAPI 3\.1\.0/)).toBeTruthy();
  });

  it("shows an operation's request body fields, nested schemas on demand, and its responses", async () => {
    fakeApi({ "GET /openapi.json": spec });
    renderAs(<ApiReference />);
    const chat = open(await screen.findByText("/v1/chat/completions"));
    const body = within(chat);
    expect(body.getByText("model").closest("li")!.textContent).toContain("required");
    expect(body.getByText("model").closest("li")!.textContent).toContain("provider/model or a bare name");
    expect(body.getByText("temperature").closest("li")!.textContent).toContain("number | null");
    expect(body.queryByText("role")).toBeNull(); // Message opens on demand
    const message = open(body.getByText("Message fields"));
    expect(within(message).getByText("role").closest("li")!.textContent).toContain('"system" | "user" | "assistant"');
    // Message holds Messages: it is named there, not opened again
    expect(within(message).getAllByText("Message fields")).toEqual([message.querySelector("summary")]);
    expect(body.getByText("400").closest("li")!.textContent).toContain("OpenAIError");
    expect(body.getByText("text/event-stream")).toBeTruthy();
  });

  it("notes greedy path parameters and shows a form body's file part", async () => {
    fakeApi({ "GET /openapi.json": spec });
    renderAs(<ApiReference />);
    const model = open(await screen.findByText("/v1/models/{id}"));
    expect(within(model).getByText("id").closest("li")!.textContent).toContain("May hold `/`.");
    const upload = open(screen.getByText("/v1/audio/transcriptions"));
    expect(within(upload).getByText("multipart/form-data")).toBeTruthy();
    expect(within(upload).getByText("file")).toBeTruthy();
  });

  it("filters operations by a search", async () => {
    fakeApi({ "GET /openapi.json": spec });
    renderAs(<ApiReference />);
    fireEvent.change(await screen.findByLabelText("Search"), { target: { value: "keys" } });
    expect(screen.getAllByRole("heading", { level: 2 }).map((h) => h.textContent)).toEqual(["Admin"]);
    fireEvent.change(screen.getByLabelText("Search"), { target: { value: "nothing-like-this" } });
    expect(screen.getByText("No operation matches.")).toBeTruthy();
  });

  it("says so when the description cannot be loaded", async () => {
    fakeApi({ "GET /openapi.json": apiError(500, "boom") });
    renderAs(<ApiReference />);
    expect(await screen.findByText(/boom/)).toBeTruthy();
  });
});
