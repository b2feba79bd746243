// Signs a person in to the dashboard through the identity provider, in headless Chromium, for the
// Rust sign-in tests (tests/tests/e2e/people.rs).
//
//   node tests/browser/signin.mjs <base-url> <login> <screenshot.png>
//
// Opens <base-url>/auth/login, which sends the browser to the provider; fills the provider's
// login form with <login> (any password); follows the redirects back to the dashboard and waits
// until it shows the person's name, or the page for a person without a role. Lines on stdout:
//
//   SHOWN <JSON: {who: the name in the header, noRole: whether the no-role page shows}>
//   COOKIE <JSON: the session cookie as the browser keeps it: {value, httpOnly, sameSite, secure, path}>
//
// Everything else goes to stderr. Exit 0 on success, 1 on any failure or time-out, 2 on bad usage.
import { chromium } from "playwright-core";

const CHROMIUM = process.env.BAOCAO_CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = 20_000;
const OVERALL = 90_000;

const started = Date.now();
const log = (text) => process.stderr.write(`signin.mjs [${((Date.now() - started) / 1000).toFixed(2)}s] ${text}\n`);
const out = (tag, value) => new Promise((resolve) => process.stdout.write(`${tag} ${JSON.stringify(value)}\n`, resolve));

const [baseUrl, login, screenshotPath] = process.argv.slice(2);
if (process.argv.length !== 5 || !baseUrl || !login || !screenshotPath) {
  process.stderr.write("usage: node tests/browser/signin.mjs <base-url> <login> <screenshot.png>\n");
  process.exit(2);
}

let browser = null;
async function finish(code) {
  await Promise.race([browser ? browser.close().catch(() => {}) : null, new Promise((r) => setTimeout(r, 10_000))]);
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => { log(`${signal}: closing`); finish(1); });
setTimeout(() => { log(`FAIL: more than ${OVERALL / 1000} s`); finish(1); }, OVERALL).unref();

async function run() {
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, timeout: 30_000,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "vi-VN", timezoneId: "Asia/Ho_Chi_Minh" });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (error) => log(`page error: ${error.message}`));
  await page.goto(`${baseUrl}/auth/login`);
  log(`at the provider: ${page.url()}`);
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "any password at all");
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(baseUrl + "/"), { timeout: TIMEOUT }),
    page.click("button[type=submit]"),
  ]);
  log(`back at ${page.url()}`);
  try {
    await page.waitForFunction(() => document.getElementById("who")?.textContent || document.body.dataset.noRole);
  } catch (error) {
    const text = await page.evaluate(() => document.body?.innerText?.slice(0, 500)).catch(() => "(unreadable)");
    log(`stuck at ${page.url()}: ${text}`);
    throw error;
  }
  const shown = await page.evaluate(() => ({
    who: document.getElementById("who").textContent,
    noRole: !document.getElementById("no-role").hidden,
  }));
  await out("SHOWN", shown);
  const session = (await context.cookies()).find((c) => c.name === "baocao_session");
  if (!session) throw new Error("no session cookie");
  await page.screenshot({ path: screenshotPath, fullPage: true });
  await out("COOKIE", { value: session.value, httpOnly: session.httpOnly, sameSite: session.sameSite, secure: session.secure, path: session.path });
}

run().then(() => finish(0), (error) => { log(`FAIL: ${error.stack || error}`); finish(1); });
