// Open the test page in headless Chromium, wait for it to finish, screenshot it
// and print ONE JSON line: {"ok": true, "result": {...}} or {"ok": false, "error": ...}.
//
// usage: node run_browser.mjs <page url> <screenshot path> [chromium path]
//
// playwright-core never downloads a browser: it drives the installed Chromium.

import { createRequire } from "node:module";

const require = createRequire(new URL("../node/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [url, screenshotPath, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
const DEADLINE_MS = 30000;
const started = Date.now();
const remaining = () => Math.max(1000, DEADLINE_MS - (Date.now() - started));

const consoleMessages = [];
let browser;
let output;
try {
  if (!url || !screenshotPath) throw new Error("usage: run_browser.mjs <url> <screenshot path> [chromium]");
  browser = await chromium.launch({
    executablePath,
    timeout: remaining(),
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-gpu",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 480 } });
  page.on("console", (msg) => consoleMessages.push(`${msg.type()}: ${msg.text()}`));
  page.on("pageerror", (err) => consoleMessages.push(`pageerror: ${err.message}`));
  page.on("response", (response) => {
    if (response.status() >= 400) consoleMessages.push(`http ${response.status()}: ${response.url()}`);
  });
  await page.goto(url, { timeout: remaining() });
  await page.waitForSelector("#done", { timeout: remaining() });
  const result = await page.evaluate(() => ({
    done: document.getElementById("done").textContent,
    clientVersion: document.getElementById("client-version").textContent,
    transports: Object.fromEntries(
      [...document.querySelectorAll("#results li")].map((li) => [
        li.id,
        {
          transport: li.dataset.transport,
          state: li.dataset.state,
          text: li.textContent,
          fields: Object.fromEntries(
            [...li.querySelectorAll("[data-field]")].map((span) => [span.dataset.field, span.textContent]),
          ),
        },
      ]),
    ),
  }));
  await page.screenshot({ path: screenshotPath, fullPage: true, timeout: remaining() });
  output = { ok: true, result: { ...result, console: consoleMessages, browserVersion: browser.version() } };
} catch (err) {
  output = { ok: false, error: String((err && err.stack) || err), console: consoleMessages };
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.stdout.write(JSON.stringify(output) + "\n");
