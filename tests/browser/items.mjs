// Finds a ward's overdue dossiers of last month in the dashboard, as a person who has never seen
// it would, in headless Chromium, for the Rust integration test that starts the API.
//
//   node tests/browser/items.mjs <base-url> <period> <screenshot.png>
//
// Opens <base-url>/ (one ward, no token: the ward's page opens), then:
//   click 1: "Hồ sơ quá hạn" on the row of <period> in the reports panel: the list opens;
//   click 2: "Tải CSV": the list downloads.
// Then sorts the list by its due date, and opens the open window's "Hồ sơ tiếp nhận" counter
// to see its list too. Lines on stdout:
//
//   LIST <JSON: {title, note, count, headers: [...], rows: [[cell text...]]}>
//   CSV <JSON: {name, lines: [...]}>
//   SORTED <JSON: {sort: aria-sort of the due date's column, ids: [...]}>
//   LIVE <JSON: {title, count, rows}>
//
// Everything else goes to stderr. Exit 0 on success, 1 on any failure or time-out, 2 on bad usage.
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.BAOCAO_CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = 20_000;
const OVERALL = 120_000;

const started = Date.now();
const log = (text) => process.stderr.write(`items.mjs [${((Date.now() - started) / 1000).toFixed(2)}s] ${text}\n`);
const out = (tag, value) => new Promise((resolve) => process.stdout.write(`${tag} ${JSON.stringify(value)}\n`, resolve));

const [baseUrl, period, screenshotPath] = process.argv.slice(2);
if (process.argv.length !== 5 || !baseUrl || !period || !screenshotPath) {
  process.stderr.write("usage: node tests/browser/items.mjs <base-url> <period> <screenshot.png>\n");
  process.exit(2);
}

let browser = null;
async function finish(code) {
  await Promise.race([browser ? browser.close().catch(() => {}) : null, new Promise((r) => setTimeout(r, 10_000))]);
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => { log(`${signal}: closing`); finish(1); });
setTimeout(() => { log(`FAIL: more than ${OVERALL / 1000} s`); finish(1); }, OVERALL).unref();

const pageErrors = [];

// The list as the dialog shows it, once it has loaded for `figure`.
async function readList(page, figure) {
  await page.waitForFunction((f) => (document.body.dataset.items || "").startsWith(f + " "),
    figure, { timeout: TIMEOUT, polling: 50 });
  return page.evaluate(() => ({
    title: document.getElementById("items-title").textContent.trim(),
    note: document.getElementById("items-note").textContent.trim(),
    count: document.getElementById("items-count").textContent.trim(),
    headers: [...document.querySelectorAll("#items-table thead th")].map((th) => th.textContent.trim()),
    rows: [...document.querySelectorAll("#items-table tbody tr")].map((tr) => [...tr.cells].map((td) => td.textContent.trim())),
  }));
}

async function run() {
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, timeout: 30_000,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: "vi-VN",
    timezoneId: "Asia/Ho_Chi_Minh", acceptDownloads: true });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") log(`console error: ${m.text()}`); });
  page.on("pageerror", (error) => { pageErrors.push(error); log(`page error: ${error.stack || error.message}`); });

  const response = await page.goto(new URL("/", baseUrl).href, { waitUntil: "domcontentloaded", timeout: TIMEOUT });
  if (!response || !response.ok()) throw new Error(`loading /: HTTP ${response ? response.status() : "none"}`);

  // Click 1: the period's overdue dossiers, from the reports panel.
  const overdue = page.locator(`#reports button[data-overdue="${period}"]`).first();
  await overdue.waitFor({ state: "visible", timeout: TIMEOUT });
  await overdue.click();
  await out("LIST", await readList(page, "procedures.pending_overdue"));
  await page.screenshot({ path: screenshotPath, fullPage: false, timeout: TIMEOUT });
  log(`screenshot saved to ${screenshotPath}`);

  // Click 2: the list as CSV.
  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout: TIMEOUT }),
    page.locator("#items-csv").click(),
  ]);
  const text = await readFile(await download.path(), "utf8");
  await out("CSV", { name: download.suggestedFilename(), lines: text.split("\r\n").filter(Boolean) });

  // Sorted by the due date, latest first (a second click on its header).
  const due = page.locator('#items-table th[data-column="due_at"] button');
  await due.click();
  await page.waitForFunction(() => document.querySelector('#items-table th[data-column="due_at"]')
    ?.getAttribute("aria-sort") === "ascending", null, { timeout: TIMEOUT, polling: 50 });
  await page.locator('#items-table th[data-column="due_at"] button').click();
  await page.waitForFunction(() => document.querySelector('#items-table th[data-column="due_at"]')
    ?.getAttribute("aria-sort") === "descending", null, { timeout: TIMEOUT, polling: 50 });
  const list = await readList(page, "procedures.pending_overdue");
  await out("SORTED", {
    sort: await page.getAttribute('#items-table th[data-column="due_at"]', "aria-sort"),
    ids: list.rows.map((row) => row[1]),
  });
  await page.locator("#items-dialog [data-close]").click();

  // The open window's counter opens its own list.
  const counter = page.locator('button[data-figure-link="procedures.received"]').first();
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-figure="procedures.received"]')?.textContent.trim() ?? ""),
    null, { timeout: TIMEOUT, polling: 50 });
  await counter.click();
  const live = await readList(page, "procedures.received");
  await out("LIVE", { title: live.title, count: live.count, rows: live.rows });
}

let code = 0;
try {
  await run();
} catch (error) {
  log(`FAIL: ${error.stack || error}`);
  code = 1;
}
if (pageErrors.length) {
  log(`FAIL: ${pageErrors.length} page error(s)`);
  code = 1;
}
if (code === 0) log("OK");
await finish(code);
