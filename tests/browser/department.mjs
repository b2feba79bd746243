// Drives the dashboard's department view ("Toàn tỉnh") in headless Chromium, for the Rust
// integration test that starts the API with many units.
//
//   node tests/browser/department.mjs <base-url> <token> <screenshot.png>
//
// Opens <base-url>/ (several units: the department's view opens first), answers the token
// dialog, waits for the table and prints what it shows; sorts by "Hồ sơ tiếp nhận" and prints
// the new order; scrolls to the bottom and prints where the header stays; takes a full-page
// screenshot; clicks the first row and prints the unit view it opens. Lines on stdout:
//
//   LOADED <ms from navigation to a filled table>
//   ROWS <JSON: [{code, cells: [text of each cell], state}] in the order shown>
//   SUMMARIES <JSON: [{code, text}]>
//   SORTED <JSON: {sort: aria-sort of the column, codes: [...]}>
//   STICKY <JSON: {top: the header's distance from the viewport's top after scrolling}>
//   UNIT <JSON: {hash, picked: the unit picker's value, counter: the live counter's text}>
//
// Everything else goes to stderr. Exit 0 on success, 1 on any failure or time-out, 2 on bad usage.
import { chromium } from "playwright-core";

const CHROMIUM = process.env.BAOCAO_CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = 20_000;
const OVERALL = 120_000;

const started = Date.now();
const log = (text) => process.stderr.write(`department.mjs [${((Date.now() - started) / 1000).toFixed(2)}s] ${text}\n`);
const out = (tag, value) => new Promise((resolve) => process.stdout.write(`${tag} ${JSON.stringify(value)}\n`, resolve));

const [baseUrl, token, screenshotPath] = process.argv.slice(2);
if (process.argv.length !== 5 || !baseUrl || !screenshotPath) {
  process.stderr.write("usage: node tests/browser/department.mjs <base-url> <token> <screenshot.png>\n");
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

// The rows of the table as shown: each row's code, its cells' text and its report state.
const readRows = (page) => page.$$eval("#overview-table tbody tr", (rows) => rows.map((tr) => ({
  code: tr.dataset.code,
  cells: [...tr.cells].map((td) => td.textContent.trim()),
  state: tr.querySelector("[data-state]")?.dataset.state ?? null,
})));

async function run() {
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, timeout: 30_000,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  log(`Chromium ${browser.version()} started`);
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") log(`console error: ${m.text()}`); });
  page.on("pageerror", (error) => { pageErrors.push(error); log(`page error: ${error.stack || error.message}`); });

  const navigated = Date.now();
  const response = await page.goto(new URL("/", baseUrl).href, { waitUntil: "domcontentloaded", timeout: TIMEOUT });
  if (!response || !response.ok()) throw new Error(`loading /: HTTP ${response ? response.status() : "none"}`);
  await page.locator("#token-dialog[open]").waitFor({ state: "visible", timeout: TIMEOUT });
  await page.locator("#token").fill(token);
  await page.locator("#token-submit").click();
  log("token given");

  await page.waitForFunction(() => document.body.dataset.overview
    && document.querySelectorAll("#overview-table tbody tr").length > 0, null, { timeout: TIMEOUT, polling: 50 });
  await out("LOADED", Date.now() - navigated);
  await out("ROWS", await readRows(page));
  await out("SUMMARIES", await page.$$eval(".summary-card", (cards) => cards.map((card) => ({
    code: card.dataset.code, text: card.textContent.replace(/\s+/g, " ").trim(),
  }))));

  await page.locator('#overview-table th[data-key="dossiers"] button').click();
  const sort = await page.getAttribute('#overview-table th[data-key="dossiers"]', "aria-sort");
  const codes = (await readRows(page)).map((row) => row.code);
  await out("SORTED", { sort, codes });

  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.waitForTimeout(200);
  const top = await page.$eval("#overview-table thead th", (th) => th.getBoundingClientRect().top);
  await out("STICKY", { top });
  await page.evaluate(() => window.scrollTo(0, 0));

  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: TIMEOUT });
  log(`screenshot saved to ${screenshotPath}`);

  const first = codes[0];
  await page.locator(`#overview-table tbody tr[data-code="${first}"] td:nth-child(3)`).click();
  await page.waitForFunction(() => {
    const text = document.querySelector('[data-figure="procedures.received"]')?.textContent.trim() ?? "";
    return !document.getElementById("unit-view").hidden && /^\d+$/.test(text);
  }, null, { timeout: TIMEOUT, polling: 50 });
  await out("UNIT", {
    hash: await page.evaluate(() => location.hash),
    picked: await page.$eval("#unit", (select) => select.value),
    counter: (await page.textContent('[data-figure="procedures.received"]')).trim(),
    overviewHidden: await page.$eval("#overview-view", (node) => node.hidden),
  });
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
