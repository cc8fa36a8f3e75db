import { describe, expect, it } from "vitest";
import { fmtCount, fmtCredits, fmtMs, fmtPercent, fromPerMillion, perMillion, trimNumber } from "./format";

describe("format", () => {
  it("shows small credit amounts without exponents", () => {
    expect(fmtCredits(0.000042)).toBe("0.000042");
    expect(fmtCredits(1.5e-7)).toBe("0.00000015");
    expect(fmtCredits(12.345)).toBe("12.35");
    expect(fmtCredits(0)).toBe("0");
    expect(fmtCredits(null)).toBe("–");
  });

  it("trims numbers to significant digits", () => {
    expect(trimNumber(2.4999999999999996, 6)).toBe("2.5");
    expect(trimNumber(180000, 6)).toBe("180000");
  });

  it("converts rates per token to and from per million tokens", () => {
    expect(perMillion(2.5e-6)).toBe("2.5");
    expect(perMillion(null)).toBe("");
    expect(fromPerMillion("2.5")).toBeCloseTo(2.5e-6, 15);
    expect(fromPerMillion("")).toBeNull();
    expect(() => fromPerMillion("-1")).toThrow();
  });

  it("formats counts, durations and ratios", () => {
    expect(fmtCount(1234)).toBe("1,234");
    expect(fmtCount(12_345_678)).toBe("12.3M");
    expect(fmtMs(3.21)).toBe("3.2 ms");
    expect(fmtMs(1530)).toBe("1.53 s");
    expect(fmtPercent(0.0833)).toBe("8.3%");
  });
});
