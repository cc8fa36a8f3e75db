import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Chart, niceMax } from "./Chart";

describe("Chart", () => {
  it("draws one bar per non-zero value, with a tooltip per period", () => {
    const { container } = render(
      <Chart title="Calls" kind="bar" labels={["a", "b", "c"]} series={[{ name: "Calls", values: [3, 0, 5] }]} />,
    );
    expect(container.querySelectorAll("rect.chart-bar")).toHaveLength(2);
    expect(container.querySelectorAll("rect.chart-hit title")[2].textContent).toContain("Calls: 5");
    expect(screen.getByRole("img", { name: /Calls\. Calls: 8 in all/ })).toBeTruthy();
  });

  it("draws a line per series and breaks it where a value is missing", () => {
    const { container } = render(
      <Chart title="Latency" labels={["a", "b", "c", "d"]}
             series={[{ name: "Median", values: [1, 2, null, 4] }, { name: "p95", values: [2, 3, 4, 5] }]} />,
    );
    // Median: [a, b] (d alone is a dot, not a line); p95: one line through all four.
    expect(container.querySelectorAll("polyline.chart-line")).toHaveLength(2);
    expect(container.querySelectorAll("circle.chart-dot")).toHaveLength(7);
    expect(container.querySelector(".chart-legend")?.textContent).toBe("Medianp95");
  });

  it("says so when there is nothing to draw", () => {
    render(<Chart title="Credits" labels={["a", "b"]} series={[{ name: "Credits", values: [0, 0] }]} />);
    expect(screen.getByText("No data in this period")).toBeTruthy();
  });

  it("rounds the axis up to a readable number", () => {
    expect(niceMax(7)).toBe(10);
    expect(niceMax(0.00023)).toBe(0.00025);
    expect(niceMax(120)).toBe(200);
    expect(niceMax(0)).toBe(1);
  });
});
