// Headless Chromium through chromedriver over plain WebDriver HTTP (fetch): no npm packages
// and no browser downloads, only Debian's chromium and chromium-driver. Shared by the browser
// tests (wasm/tests/browser.mjs, server/tests/swagger.mjs).
//
// Everything started here registers its own cleanup; `cleanup()` runs them newest first, and
// `deadline()` bounds the whole run. Chromedriver runs in a process group of its own, so that
// killing the group also ends the Chromium it started, even when the session could not be
// closed; a last synchronous sweep on process exit kills whatever is still registered.
//
// Environment: CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default chromedriver).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

// --- cleanup -----------------------------------------------------------------------------------

const cleanups = [];
/** Processes to kill synchronously if the process exits before `cleanup()` ran. */
const lastResort = new Set();

/** Registers `fn` (sync or async) to run at cleanup, newest first. */
export function onCleanup(fn) {
  cleanups.push(fn);
}

/** Runs every registered cleanup, newest first, each best effort; never throws. */
export async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch {
      // Best effort: the process ends right after.
    }
  }
}

/** Kills `pid` (negative: a process group) with `signal`, ignoring "no such process". */
function kill(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Kills a child on cleanup: SIGTERM, then SIGKILL if it has not exited within `graceMs`.
 * With `group`, the child's whole process group (it must have been spawned `detached`).
 */
export function killOnCleanup(child, { group = false, graceMs = 3000 } = {}) {
  const target = group ? -child.pid : child.pid;
  lastResort.add(target);
  const exited = new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once("exit", done);
  });
  onCleanup(async () => {
    kill(target, "SIGTERM");
    await Promise.race([exited, sleep(graceMs)]);
    kill(target, "SIGKILL");
    lastResort.delete(target);
  });
}

process.on("exit", () => {
  for (const target of lastResort) kill(target, "SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, async () => {
    console.error(`stopped by ${signal}; cleaning up`);
    await cleanup();
    process.exit(1);
  });
}

/**
 * Ends the process with status 1 after `seconds`, cleaning up first (itself bounded, so a
 * hung cleanup cannot keep the process alive). Returns a function that cancels it.
 */
export function deadline(seconds, what) {
  const timer = setTimeout(async () => {
    console.error(`${what}: gave up after ${seconds} s`);
    await Promise.race([cleanup(), sleep(15_000)]);
    process.exit(1);
  }, seconds * 1000);
  return () => clearTimeout(timer);
}

// --- ports -------------------------------------------------------------------------------------

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((done, fail) => {
    const probe = createNetServer();
    probe.on("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

// --- WebDriver ---------------------------------------------------------------------------------

async function startDriver() {
  const port = await freePort();
  const driver = spawn(process.env.CHROMEDRIVER ?? "chromedriver", [`--port=${port}`], {
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  killOnCleanup(driver, { group: true });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (driver.exitCode !== null) throw new Error(`chromedriver exited with status ${driver.exitCode}`);
    try {
      const status = await (await fetch(`${base}/status`)).json();
      if (status.value?.ready) return base;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error("chromedriver did not start");
}

async function webdriver(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(answer.value)}`);
  return answer.value;
}

/**
 * Starts chromedriver and a headless Chromium session on a fresh profile.
 *
 * `explain` (optional) is a script run in the page when `until` times out; what it returns
 * is added to the error.
 */
export async function openBrowser({ explain } = {}) {
  // Cleanups run newest first: the session is closed, then chromedriver's group killed,
  // then the profile removed.
  const profile = mkdtempSync(join(tmpdir(), "splitledger-chromium-"));
  onCleanup(() => rmSync(profile, { recursive: true, force: true }));
  const base = await startDriver();
  const session = await webdriver(base, "POST", "/session", {
    capabilities: {
      alwaysMatch: {
        browserName: "chrome",
        "goog:chromeOptions": {
          binary: process.env.CHROMIUM ?? "/usr/bin/chromium",
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--window-size=1280,1024",
            `--user-data-dir=${profile}`,
          ],
        },
      },
    },
  });
  const path = `/session/${session.sessionId}`;
  onCleanup(() => webdriver(base, "DELETE", path));
  const call = (method, rest, body) => webdriver(base, method, path + rest, body);
  const reference = (found) => found?.[ELEMENT];
  return {
    go: (url) => call("POST", "/url", { url }),
    /** Runs `script` (a function body; `arguments` holds `args`) in the page. */
    run: (script, ...args) => call("POST", "/execute/sync", { script, args }),
    find: async (css) => reference(await call("POST", "/element", { using: "css selector", value: css })),
    /** The first element matching `css` inside `element`. */
    findIn: async (element, css) =>
      reference(await call("POST", `/element/${element}/element`, { using: "css selector", value: css })),
    /** An element a script returns (`return document.querySelector(...)`), or null. */
    pick: async (script, ...args) => reference(await call("POST", "/execute/sync", { script, args })) ?? null,
    clear: (element) => call("POST", `/element/${element}/clear`, {}),
    keys: (element, text) => call("POST", `/element/${element}/value`, { text }),
    click: (element) => call("POST", `/element/${element}/click`, {}),
    /** Polls `script` until it returns something truthy (or throws after `seconds`). */
    async until(what, seconds, script, ...args) {
      const end = Date.now() + seconds * 1000;
      let last;
      while (Date.now() < end) {
        last = await this.run(script, ...args);
        if (last) return last;
        await sleep(100);
      }
      const said = explain ? await this.run(explain).catch(() => null) : null;
      throw new Error(`timed out waiting for ${what}${said ? `; the page says: ${said}` : ""}`);
    },
  };
}
