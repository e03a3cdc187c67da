// Swagger UI in a real browser, as a person would use it: Debian's Chromium (headless, driven by
// puppeteer-core) opens <base>/swagger-ui/, signs in with a bearer token through "Authorize",
// runs "My applications" through "Try it out" and "Execute", and reads the status code of the
// live response off the page. Run by tests/api/swagger_ui.rs; by hand:
//
//   SWAGGER_UI_TOKEN=<token> node swagger-ui.mjs http://127.0.0.1:8080 /tmp/swagger-ui.png
//
// Arguments: the server's base URL, where the full-page screenshot goes (PNG), and optionally where
// a screenshot of the "My applications" block alone goes (the full page is some 11000 pixels
// tall: the block is what a person reads).
// Environment: SWAGGER_UI_TOKEN (the bearer token, required); CHROMIUM (the browser, default
// /usr/bin/chromium); BROWSER_TEST_PREFIX (the folder whose node_modules holds puppeteer-core,
// when it is not beside this script); SWAGGER_UI_TIMEOUT_MS (each wait, default 60000);
// SWAGGER_UI_RESOLVE (name=address: the host name of the base URL and the address it stands for).
//
// Prints one JSON line on standard output: {"status": <the observed status code>, ...} with the
// request URL and the response body shown (its first 4000 characters), the Content-Security-Policy
// violations and the page's console errors. Exits non-zero with a message on standard error when
// any step fails (the screenshot is still taken when the page got that far).

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const TAG = "applications";
const OPERATION_ID = "list-my-applications";
const SCHEME = "bearer";

function fail(message) {
  process.stderr.write(`swagger-ui.mjs: ${message}\n`);
  process.exit(1);
}

const [base, screenshot, operationShot] = process.argv.slice(2);
if (!base || !screenshot) {
  fail("usage: SWAGGER_UI_TOKEN=<token> node swagger-ui.mjs <base-url> <screenshot.png> [operation.png]");
}
const token = process.env.SWAGGER_UI_TOKEN;
if (!token) fail("SWAGGER_UI_TOKEN is not set");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!existsSync(executablePath)) {
  fail(`no browser at ${executablePath}: install Debian's package chromium, or set CHROMIUM`);
}
const timeout = Number(process.env.SWAGGER_UI_TIMEOUT_MS || 60000);
// "name=address": the browser reaches the server under a host name, as people do (Swagger UI
// behaves differently on localhost and 127.0.0.1, e.g. its online validator badge).
let resolve = null;
if (process.env.SWAGGER_UI_RESOLVE) {
  const [name, address] = process.env.SWAGGER_UI_RESOLVE.split("=");
  if (!name || !address) fail("SWAGGER_UI_RESOLVE must be name=address");
  resolve = { name, address };
}

// puppeteer-core from the given prefix's node_modules, or from beside this script.
const prefix = process.env.BROWSER_TEST_PREFIX || dirname(fileURLToPath(import.meta.url));
let puppeteer;
try {
  puppeteer = createRequire(join(prefix, "package.json"))("puppeteer-core");
} catch (error) {
  fail(`cannot load puppeteer-core from ${prefix}/node_modules (run npm ci there): ${error.message}`);
}

const operation = `#operations-${TAG}-${OPERATION_ID}`;
let step = "starting Chromium";
const cspViolations = [];
const consoleErrors = [];

const browser = await puppeteer
  .launch({
    executablePath,
    headless: true,
    // Tests run as root, where Chromium's sandbox cannot start; nothing here is untrusted.
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      // The host name given in SWAGGER_UI_RESOLVE leads to its address; no other name resolves
      // (IP addresses and localhost still work): the page can reach no third party.
      `--host-resolver-rules=${resolve ? `MAP ${resolve.name} ${resolve.address}, ` : ""}MAP * ~NOTFOUND, EXCLUDE localhost`,
    ],
    defaultViewport: { width: 1280, height: 900 },
    timeout,
  })
  .catch((error) => fail(`cannot start ${executablePath}: ${error.message}`));

let page;
let outcome;
try {
  page = await browser.newPage();
  page.setDefaultTimeout(timeout);
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(`page error: ${error.message}`));
  // What the page's Content-Security-Policy refuses, as the page itself is told.
  await page.exposeFunction("__reportCspViolation", (violation) => cspViolations.push(violation));
  await page.evaluateOnNewDocument(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      window.__reportCspViolation(
        `${event.effectiveDirective} refused ${event.blockedURI || "(inline)"}` +
          (event.sourceFile ? ` in ${event.sourceFile}:${event.lineNumber}` : ""),
      );
    });
  });

  step = "opening /swagger-ui/";
  const url = new URL("/swagger-ui/", base).toString();
  const response = await page.goto(url, { waitUntil: "domcontentloaded" });
  if (!response || response.status() !== 200) {
    throw new Error(`GET ${url} answered ${response ? response.status() : "nothing"}`);
  }

  step = `waiting for the operation ${operation} to be rendered`;
  await page.waitForSelector(`${operation} .opblock-summary`, { visible: true });

  step = "opening the Authorize dialog";
  await page.click(".scheme-container .auth-wrapper .btn.authorize");
  await page.waitForSelector(".dialog-ux .modal-ux", { visible: true });

  step = `typing the token for the ${SCHEME} scheme`;
  // Each http scheme has its own block (an <h4><code>name</code> (http, Bearer)</h4> and an
  // input); the inputs share one id, so the block is found by its scheme's name.
  const input = await page.waitForFunction(
    (scheme) => {
      for (const code of document.querySelectorAll(".modal-ux .auth-container h4 > code")) {
        if (code.textContent.trim() === scheme) {
          return code.closest("h4").parentElement.querySelector("input");
        }
      }
      return null;
    },
    {},
    SCHEME,
  );
  await input.asElement().type(token);

  step = "authorizing";
  await page.click(".modal-ux .auth-btn-wrapper .btn.authorize");
  await page.waitForFunction(
    (scheme) =>
      [...document.querySelectorAll(".modal-ux .auth-container h4 > code")].some(
        (code) =>
          code.textContent.trim() === scheme &&
          [...code.closest("h4").parentElement.querySelectorAll("h6")].some(
            (h6) => h6.textContent.trim() === "Authorized",
          ),
      ),
    {},
    SCHEME,
  );

  step = "closing the Authorize dialog";
  await page.click(".modal-ux .auth-btn-wrapper .btn-done");
  await page.waitForSelector(".dialog-ux .modal-ux", { hidden: true });
  await page.waitForSelector(".scheme-container .auth-wrapper .btn.authorize.locked");

  step = `expanding "My applications" (${operation})`;
  await page.click(`${operation} .opblock-summary-control`);
  await page.waitForSelector(`${operation} .try-out__btn`, { visible: true });

  step = 'clicking "Try it out"';
  await page.click(`${operation} .try-out__btn`);
  await page.waitForSelector(`${operation} .btn.execute`, { visible: true });

  step = 'clicking "Execute"';
  await page.click(`${operation} .btn.execute`);

  step = "waiting for the live response";
  const statusCell = `${operation} .live-responses-table .response .response-col_status`;
  await page.waitForSelector(statusCell, { visible: true });
  const observed = await page.$eval(statusCell, (cell) => cell.textContent.trim());
  const requestUrl = await page
    .$eval(`${operation} .request-url pre`, (pre) => pre.textContent.trim())
    .catch(() => null);
  const body = await page
    .$eval(`${operation} .live-responses-table .response-col_description pre`, (pre) =>
      pre.textContent.slice(0, 4000),
    )
    .catch(() => null);
  // "200", or for a failed fetch "Failed to fetch." with an undocumented-looking cell.
  const code = Number.parseInt(observed, 10);
  if (operationShot) {
    const block = await page.$(operation);
    await block.screenshot({ path: operationShot });
  }
  outcome = {
    status: Number.isNaN(code) ? null : code,
    status_text: observed,
    request_url: requestUrl,
    body,
  };
} catch (error) {
  outcome = { error: `${step}: ${error.message}` };
} finally {
  if (page) {
    await page
      .screenshot({ path: screenshot, fullPage: true })
      .catch((error) => process.stderr.write(`swagger-ui.mjs: no screenshot: ${error.message}\n`));
  }
  await browser.close().catch(() => {});
}

outcome.csp_violations = cspViolations;
outcome.console_errors = consoleErrors;
outcome.screenshot = screenshot;
outcome.operation_screenshot = operationShot || null;
process.stdout.write(`${JSON.stringify(outcome)}\n`);
if (outcome.error) fail(outcome.error);
