// Prints what the first page downloads (index.html and the assets it names), raw and gzipped,
// and fails the build when the gzipped total passes the budget.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET = 300 * 1024;
const root = new URL("../../chalicelib/ui/", import.meta.url).pathname;
const html = readFileSync(join(root, "index.html"), "utf8");
const named = [...html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+)"/g)].map((m) => m[1]);
const files = ["index.html", ...new Set(named)];
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
let raw = 0;
let gz = 0;
console.log("First page (what a browser downloads to show the UI):");
for (const file of files) {
  const bytes = readFileSync(join(root, file));
  const packed = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gz += packed;
  console.log(`  ${file.padEnd(40)} ${kb(bytes.length).padStart(10)}  ${kb(packed).padStart(9)} gzipped`);
}
const all = readdirSync(join(root, "assets")).map((f) => statSync(join(root, "assets", f)).size).reduce((a, b) => a + b, 0);
console.log(`  ${"total".padEnd(40)} ${kb(raw).padStart(10)}  ${kb(gz).padStart(9)} gzipped (budget ${kb(BUDGET)})`);
console.log(`All built assets: ${kb(all)} raw in ${root}`);
if (gz > BUDGET) {
  console.error(`The first page is ${kb(gz)} gzipped, over the ${kb(BUDGET)} budget.`);
  process.exit(1);
}
