// A real splitledger-server for the browser module's end-to-end tests: the debug binary on a
// free port of 127.0.0.1 with a fresh SQLite file, or a fresh PostgreSQL database (created
// with psql, dropped at cleanup), stopped by the cleanup of scripts/lib/webdriver.mjs. Plus a
// small HTTP client that fails loudly on any unexpected status.
//
// Environment: SPLITLEDGER_SERVER (the binary; default target/debug/splitledger-server under
// CARGO_TARGET_DIR or ./target).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, killOnCleanup, onCleanup, sleep } from "../../scripts/lib/webdriver.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function serverBinary() {
  if (process.env.SPLITLEDGER_SERVER) return resolve(process.env.SPLITLEDGER_SERVER);
  const target = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, "target");
  return join(target, "debug", "splitledger-server");
}

/**
 * A fresh PostgreSQL database next to the one `url` names, dropped at cleanup; its URL.
 * The name is random so parallel runs never meet.
 */
function freshPostgres(url) {
  const name = `splitledger_wasm_${randomBytes(6).toString("hex")}`;
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", `CREATE DATABASE ${name}`], { stdio: "pipe" });
  onCleanup(() => {
    try {
      execFileSync("psql", [url, "-q", "-c", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: "pipe" });
    } catch {
      // Best effort: a leftover database with a random name harms no later run.
    }
  });
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/**
 * Starts the server; `database` is `"sqlite"` or a `postgres://` URL (a fresh database is
 * made beside it). `args` are extra command-line flags (e.g. `--cors-origins`). Returns the
 * base address and a function giving the end of the server's log (for failures).
 */
export async function startServer({ database = "sqlite", args = [] } = {}) {
  const binary = serverBinary();
  if (!existsSync(binary)) {
    throw new Error(`no server binary at ${binary}; build it with: cargo build -p splitledger-server`);
  }
  const dir = mkdtempSync(join(tmpdir(), "splitledger-wasm-"));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const url = database === "sqlite" ? `sqlite://${join(dir, "t.db")}` : freshPostgres(database);
  const port = await freePort();
  const env = { ...process.env, DATABASE_URL: url, LOG_FORMAT: "text" };
  for (const name of ["BIND", "CORS_ORIGINS", "COOKIE_SECURE", "TOKEN_TTL", "BODY_LIMIT", "SIGNUP"]) delete env[name];
  const server = spawn(binary, ["--bind", `127.0.0.1:${port}`, ...args], {
    cwd: dir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const keep = (chunk) => {
    log = (log + chunk).slice(-20_000);
  };
  server.stdout.on("data", keep);
  server.stderr.on("data", keep);
  killOnCleanup(server);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (server.exitCode !== null) throw new Error(`the server exited with status ${server.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${base}/health/ready`)).ok) return { base, log: () => log };
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`the server did not become ready within 60 s:\n${log}`);
}

/** A signed-in client of the API at `base`: `call(method, path, body)` → parsed answer. */
export class Client {
  constructor(base, token = null) {
    this.base = base;
    this.token = token;
  }

  /** Calls the API; throws unless the status is one of `expect` (default any 2xx). */
  async raw(method, path, body, expect) {
    const headers = { accept: "application/json, application/problem+json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(`${this.base}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const ok = expect ? expect.includes(response.status) : response.ok;
    if (!ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 2000)}`);
    return { status: response.status, text, json: text ? JSON.parse(text) : null };
  }

  async call(method, path, body) {
    return (await this.raw(method, path, body)).json;
  }

  /** Every item of a paginated list. */
  async all(path) {
    const items = [];
    let cursor = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const page = await this.call("GET", `${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }

  /** Signs up a fresh user and returns a client signed in as them, and the user. */
  static async signUp(base, name) {
    const email = `${name.toLowerCase()}.${randomBytes(4).toString("hex")}@example.com`;
    const password = "preview = stored, 100%";
    const anonymous = new Client(base);
    const user = await anonymous.call("POST", "/auth/signup", { email, password, display_name: name });
    const login = await anonymous.call("POST", "/auth/login", { email, password });
    return { client: new Client(base, login.access_token), user, email, password };
  }
}
