// Clicks the Authorize button of the docs page (Swagger UI at /docs) in headless Chromium and
// checks that it signs in: the OAuth2 password flow posts the email and password to
// /api/v1/auth/token, and "Try it out" on GET /api/v1/users/me then answers 401 before and
// 200 with the user after. Drives Debian's chromium through chromedriver over plain WebDriver
// HTTP (scripts/lib/webdriver.mjs): no npm packages, no browser downloads.
//
// Runs the real server binary on a free port of 127.0.0.1 with a fresh SQLite file, and stops
// the server, chromedriver and Chromium when done, on failure, on Ctrl-C and on timeout.
//
// Usage: node server/tests/swagger.mjs   (scripts/test-docs builds the server first)
// Environment: SPLITLEDGER_SERVER (the binary; default target/debug/splitledger-server under
// cargo's target directory), CHROMIUM, CHROMEDRIVER.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  cleanup,
  deadline,
  freePort,
  killOnCleanup,
  onCleanup,
  openBrowser,
  sleep,
} from "../../scripts/lib/webdriver.mjs";

const LIMIT_SECONDS = 120;
const cancelDeadline = deadline(LIMIT_SECONDS, "swagger test");
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

// A password with a space and form-encoding specials: Swagger UI must encode it, the server
// decode it, the same way.
const USER = { email: "docs.ann@example.com", password: "correct horse +&=% staple", display_name: "Ann" };

// --- the server ------------------------------------------------------------------------------

function serverBinary() {
  if (process.env.SPLITLEDGER_SERVER) return resolve(process.env.SPLITLEDGER_SERVER);
  let target = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, "target");
  try {
    const metadata = execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    target = JSON.parse(metadata).target_directory;
  } catch {
    // No cargo here: the default above.
  }
  return join(target, "debug", "splitledger-server");
}

let serverLog = "";

async function startServer() {
  const binary = serverBinary();
  if (!existsSync(binary)) {
    throw new Error(`no server binary at ${binary}; build it with: cargo build -p splitledger-server`);
  }
  const dir = mkdtempSync(join(tmpdir(), "splitledger-docs-"));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const env = { ...process.env, DATABASE_URL: `sqlite://${join(dir, "t.db")}`, LOG_FORMAT: "text" };
  for (const name of ["BIND", "CORS_ORIGINS", "COOKIE_SECURE", "TOKEN_TTL", "BODY_LIMIT"]) delete env[name];
  const server = spawn(binary, ["--bind", `127.0.0.1:${port}`], {
    cwd: dir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk) => {
    serverLog = (serverLog + chunk).slice(-20_000);
  };
  server.stdout.on("data", keep);
  server.stderr.on("data", keep);
  killOnCleanup(server);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (server.exitCode !== null) throw new Error(`the server exited with status ${server.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return base;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error("the server did not answer /health within 30 s");
}

async function signUp(base) {
  const response = await fetch(`${base}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(USER),
  });
  if (response.status !== 201) throw new Error(`signup answered ${response.status}: ${await response.text()}`);
  return (await response.json()).id;
}

// --- the page --------------------------------------------------------------------------------

// The OAuth2 password flow's part of the Authorize dialog (its username label stays when the
// input gives way to the name signed in).
const OAUTH = "[...document.querySelectorAll('.auth-container')].find((c) => c.querySelector('label[for=oauth_username]'))";
const OPERATION = "#operations-Users-get_users_me";

/** What the page shows that may explain a timeout: auth errors, the live response. */
const EXPLAIN = `
  const parts = [];
  for (const e of document.querySelectorAll('.modal-ux .errors')) parts.push('auth error: ' + e.textContent.trim());
  const live = document.querySelector('${OPERATION} .live-responses-table');
  if (live) parts.push('response: ' + live.textContent.replace(/\\s+/g, ' ').trim().slice(0, 500));
  if (!document.querySelector('.swagger-ui')) parts.push('no Swagger UI rendered');
  return parts.join('; ');`;

/** The live response of GET /users/me once it shows `status`: its status, body and curl. */
const RESPONSE = `
  const op = document.querySelector('${OPERATION}');
  const row = op?.querySelector('.live-responses-table .response');
  if (!row) return null;
  const status = row.querySelector('.response-col_status')?.textContent.trim();
  const body = row.querySelector('.response-col_description .microlight, .response-col_description pre')?.textContent;
  if (status !== arguments[0] || !body) return null;
  return { status, body, curl: op.querySelector('.curl-command')?.textContent ?? '' };`;

function check(condition, what, detail) {
  if (!condition) throw new Error(`${what}${detail === undefined ? "" : `: ${detail}`}`);
  console.log(`ok: ${what}`);
}

async function execute(browser, status) {
  await browser.click(await browser.find(`${OPERATION} .btn.execute`));
  return browser.until(`GET /users/me to show status ${status}`, 15, RESPONSE, status);
}

async function test(browser, base, userId) {
  await browser.go(`${base}/docs`);
  await browser.until(
    "the docs page with its Authorize button and GET /users/me",
    30,
    `return document.querySelector('.auth-wrapper .btn.authorize') && document.querySelector('${OPERATION}')`,
  );
  const title = await browser.run("return document.querySelector('.info .title')?.textContent ?? ''");
  check(title.includes("splitledger"), "the docs page shows the API", title);

  // Not signed in yet: Try it out answers 401.
  await browser.click(await browser.find(`${OPERATION} .opblock-summary-control`));
  await browser.until("the operation to open", 10, `return document.querySelector('${OPERATION} .try-out__btn')`);
  await browser.click(await browser.find(`${OPERATION} .try-out__btn`));
  await browser.until("the Execute button", 10, `return document.querySelector('${OPERATION} .btn.execute')`);
  const before = await execute(browser, "401");
  check(!/authorization: bearer/i.test(before.curl), "no bearer token is sent before Authorize", before.curl);
  check(before.body.includes("401"), "GET /users/me answers 401 before Authorize", before.body);

  // Authorize: the OAuth2 password flow with the email and password; no client id.
  await browser.click(await browser.find(".auth-wrapper .btn.authorize"));
  const oauth = await browser.until("the OAuth2 password form", 10, `const c = ${OAUTH}; return c ? true : null`);
  check(oauth, "the Authorize dialog offers the OAuth2 password flow");
  const tokenUrl = await browser.run(
    `return [...${OAUTH}.querySelectorAll('p')].find((p) => p.textContent.startsWith('Token URL'))
       ?.querySelector('code')?.textContent.trim()`,
  );
  check(tokenUrl === "/api/v1/auth/token", "its token URL is /api/v1/auth/token", tokenUrl);
  await browser.keys(await browser.find("#oauth_username"), USER.email);
  await browser.keys(await browser.find("#oauth_password"), USER.password);
  await browser.click(
    await browser.pick(`return ${OAUTH}.querySelector('.auth-btn-wrapper .btn.modal-btn.auth.authorize')`),
  );
  const signedIn = await browser.until(
    "the dialog to show the OAuth2 scheme authorized (a Logout button)",
    15,
    `const c = ${OAUTH};
     const error = c?.querySelector('.errors')?.textContent.trim();
     if (error) return { error };
     const logout = [...(c?.querySelectorAll('.auth-btn-wrapper button') ?? [])].find((b) => b.textContent.trim() === 'Logout');
     return logout ? { text: c.textContent } : null;`,
  );
  check(!signedIn.error, "Authorize signs in without an error", signedIn.error);
  check(signedIn.text.includes("Authorized"), "the dialog says Authorized", signedIn.text.slice(0, 300));
  check(signedIn.text.includes(USER.email), "the dialog names the user signed in");
  await browser.click(await browser.pick(`return ${OAUTH}.querySelector('.auth-btn-wrapper .btn-done')`));
  await browser.until("the dialog to close", 10, "return !document.querySelector('.modal-ux')");
  const locked = await browser.run("return document.querySelector('.auth-wrapper .btn.authorize').classList.contains('locked')");
  check(locked, "the Authorize button shows a closed lock");

  // Signed in: the same Execute answers 200 with the user, sent as a bearer token.
  const after = await execute(browser, "200");
  check(/authorization: bearer \S+/i.test(after.curl), "the request carries the bearer token", after.curl);
  let user;
  try {
    user = JSON.parse(after.body);
  } catch {
    throw new Error(`the response body is not JSON: ${after.body}`);
  }
  check(
    user.email === USER.email && user.id === userId && user.display_name === USER.display_name,
    `GET /users/me answers 200 with the user signed in (${user.email})`,
    after.body,
  );
}

try {
  const base = await startServer();
  const userId = await signUp(base);
  const browser = await openBrowser({ explain: EXPLAIN });
  await test(browser, base, userId);
  await cleanup();
  cancelDeadline();
  console.log("swagger test: passed");
} catch (error) {
  console.error(`swagger test: ${error.message}`);
  if (serverLog) console.error(`--- the server's last output:\n${serverLog.trimEnd()}`);
  await cleanup();
  process.exit(1);
}
