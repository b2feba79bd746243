// Drives the dashboard in headless Chromium, for the Rust integration test that starts the API.
//
//   node tests/browser/dashboard.mjs <base-url> <token> <screenshot.png>
//
// Opens <base-url>/, answers the token dialog if it opens (an empty token is allowed when the
// API runs without one), waits for the live "procedures.received" counter to show a number and
// prints `READY <value>`; the caller then publishes an event, and the script waits for the
// counter to change without a reload and prints `CHANGED <old> <new>`. Then it takes a
// full-page screenshot. Only READY and CHANGED go to stdout; everything else goes to stderr.
// Exit 0 on success, 1 on any failure or time-out, 2 on bad usage.
import { chromium } from "playwright-core";

const CHROMIUM = process.env.BAOCAO_CHROMIUM || "/usr/bin/chromium";
const COUNTER = '[data-figure="procedures.received"]';
const TIMEOUTS = {
  launch: 30_000,
  load: 15_000,
  dialog: 3_000, // the dialog opens at once on a 401; no dialog then means no token is needed
  firstNumber: 20_000,
  change: 30_000,
  settle: 1_500,
  screenshot: 15_000,
  overall: 120_000,
};

const started = Date.now();
const log = (text) => process.stderr.write(`dashboard.mjs [${((Date.now() - started) / 1000).toFixed(2)}s] ${text}\n`);
const out = (line) => new Promise((resolve) => process.stdout.write(line + "\n", resolve));

class Failure extends Error {}
const fail = (text) => { throw new Failure(text); };

// A time-out of a Playwright wait becomes a message that says what was awaited.
async function step(what, promise) {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof Failure) throw error;
    if (error && error.name === "TimeoutError") fail(`timed out: ${what}`);
    fail(`${what}: ${error && error.message ? error.message.split("\n")[0] : error}`);
  }
}

const [baseUrl, token, screenshotPath] = process.argv.slice(2);
if (process.argv.length !== 5 || !baseUrl || !screenshotPath) {
  process.stderr.write("usage: node tests/browser/dashboard.mjs <base-url> <token> <screenshot.png>\n" +
    "  (pass an empty token when the API runs without one)\n");
  process.exit(2);
}

let browser = null;
let closing = null;
let stoppedBy = null;
function closeBrowser() {
  if (!closing) closing = browser ? browser.close().catch(() => {}) : Promise.resolve();
  return closing;
}
async function finish(code) {
  // A browser that does not close in 10 s is left to Playwright's exit handler, which kills it.
  await Promise.race([closeBrowser(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => { stoppedBy = signal; log(`${signal}: closing the browser`); finish(1); });
}
setTimeout(() => { log(`FAIL: the whole check took more than ${TIMEOUTS.overall / 1000} s`); finish(1); },
  TIMEOUTS.overall).unref();

const consoleErrors = [];
const pageErrors = [];

async function run() {
  browser = await step("launching " + CHROMIUM, chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: TIMEOUTS.launch,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  }));
  log(`Chromium ${browser.version()} started`);
  const context = await browser.newContext({ viewport: { width: 1400, height: 1800 }, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" });
  const page = await context.newPage();

  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const where = message.location();
    const text = `${message.text()}${where && where.url ? ` (${where.url}:${where.lineNumber})` : ""}`;
    consoleErrors.push(text);
    log(`console error: ${text}`);
  });
  page.on("pageerror", (error) => {
    pageErrors.push(error);
    log(`page error: ${error.stack || error.message}`);
  });
  page.on("requestfailed", (request) => {
    if (!closing) log(`request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  let navigations = 0;
  page.on("framenavigated", (frame) => { if (frame === page.mainFrame()) navigations += 1; });

  const url = new URL("/", baseUrl).href;
  const response = await step(`loading ${url}`, page.goto(url, { waitUntil: "domcontentloaded", timeout: TIMEOUTS.load }));
  if (!response || !response.ok()) fail(`loading ${url}: HTTP ${response ? response.status() : "no response"}`);
  log(`loaded ${url}`);

  const asked = await page.locator("#token-dialog[open]").waitFor({ state: "visible", timeout: TIMEOUTS.dialog })
    .then(() => true, (error) => { if (error.name === "TimeoutError") return false; throw error; });
  if (asked) {
    if (!token) fail("the dashboard asks for a token and none was given");
    await page.locator("#token").fill(token);
    await page.locator("#token-submit").click();
    log("token dialog answered");
    // The dialog closes on submit and opens again, with its error line shown, on a refused token.
    const outcome = await step("the token dialog to close", page.waitForFunction(() => {
      const open = document.getElementById("token-dialog").open;
      if (open && !document.getElementById("token-error").hidden) return "refused";
      return open ? null : "closed";
    }, null, { timeout: TIMEOUTS.load, polling: 100 }));
    if ((await outcome.jsonValue()) === "refused") fail("the API refused the token: the token dialog opened again with its error");
  } else {
    log(`no token dialog within ${TIMEOUTS.dialog / 1000} s; going on without a token`);
  }

  // The counter fills from the first message of the stream; the token dialog reopens, with its
  // error line shown, when the API refuses the token.
  const first = await step(`${COUNTER} to show a number`, page.waitForFunction((selector) => {
    const text = document.querySelector(selector)?.textContent.trim() ?? "";
    if (/^\d+$/.test(text)) return { value: text };
    const dialog = document.getElementById("token-dialog");
    if (dialog?.open && !document.getElementById("token-error")?.hidden) return { refused: true };
    return null;
  }, COUNTER, { timeout: TIMEOUTS.firstNumber, polling: 100 }));
  const seen = await first.jsonValue();
  if (seen.refused) fail("the API refused the token: the token dialog opened again with its error");
  const old = seen.value;
  await page.evaluate(() => { window.__baocaoMarker = 1; });
  const navigationsAtReady = navigations;
  const urlAtReady = page.url();
  log(`counter shows ${old}`);
  await out(`READY ${old}`);

  const changed = await step(`${COUNTER} to change from ${old} (no event arrived over the stream?)`,
    page.waitForFunction(([selector, before]) => {
      const text = document.querySelector(selector)?.textContent.trim() ?? "";
      return /^\d+$/.test(text) && Number(text) !== Number(before) ? text : null;
    }, [COUNTER, old], { timeout: TIMEOUTS.change, polling: 100 }));
  const now = await changed.jsonValue();
  log(`counter changed to ${now}`);
  await out(`CHANGED ${old} ${now}`);

  const marker = await page.evaluate(() => window.__baocaoMarker);
  if (marker !== 1) fail(`the page was reloaded: window.__baocaoMarker is ${marker}`);
  if (navigations !== navigationsAtReady || page.url() !== urlAtReady) {
    fail(`the page navigated: ${navigations - navigationsAtReady} navigation(s), now at ${page.url()}`);
  }

  await page.waitForTimeout(TIMEOUTS.settle);
  await step(`saving the screenshot to ${screenshotPath}`,
    page.screenshot({ path: screenshotPath, fullPage: true, timeout: TIMEOUTS.screenshot }));
  log(`screenshot saved to ${screenshotPath}`);
}

let code = 0;
try {
  await run();
} catch (error) {
  if (stoppedBy) log(`FAIL: stopped by ${stoppedBy}`);
  else log(`FAIL: ${error instanceof Failure ? error.message : error.stack || error}`);
  code = 1;
}
if (consoleErrors.length) log(`${consoleErrors.length} console error(s):\n  ${consoleErrors.join("\n  ")}`);
if (pageErrors.length) {
  log(`FAIL: ${pageErrors.length} page error(s):\n  ${pageErrors.map((e) => e.message).join("\n  ")}`);
  code = 1;
}
if (code === 0) log("OK");
await finish(code);
