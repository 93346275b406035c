// Drives Debian's chromium through the status page, for ObservabilityTests:
//   node status-page.mjs <status page URL> <screenshot.png>
// It opens the page and prints "LOADED <calls charted>" once the functions are listed, then waits for a line on
// standard input (the test makes its calls meanwhile), waits for the chart's data to grow and the failed call's
// message to show, saves a screenshot and prints "RESULT <json>". Every wait is bounded; a failure exits 1.
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, screenshot] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "sseplugin-chromium-"));
const timeout = 30000;

// This machine's network is closed: without these flags chromium waits on connections it will never get.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1440, height: 1000 },
});
try {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", error => problems.push(error.message));
  await page.goto(url, { timeout });
  await page.waitForSelector("tr[data-function='SumOfRows']", { timeout });
  const before = Number(await page.locator("#chart-calls").getAttribute("data-calls") ?? "0");
  console.log(`LOADED ${before}`);

  const input = createInterface({ input: process.stdin });
  await new Promise(resolve => input.once("line", resolve));
  input.close();

  await page.waitForFunction(
    previous => Number(document.getElementById("chart-calls").dataset.calls ?? "0") > previous, before, { timeout });
  await page.waitForSelector("#errors tbody tr", { timeout });
  const result = {
    functions: await page.locator("tr[data-function]").evaluateAll(rows => rows.map(row => row.dataset.function)),
    syntax: await page.locator("tr[data-function='SumOfRows'] code").textContent(),
    callsBefore: before,
    callsAfter: Number(await page.locator("#chart-calls").getAttribute("data-calls")),
    charts: await page.locator(".uplot").count(),
    errors: await page.locator("#errors tbody tr").allTextContents(),
    problems,
  };
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`RESULT ${JSON.stringify(result)}`);
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
