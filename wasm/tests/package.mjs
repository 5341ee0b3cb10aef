// The web build as an npm package: `npm pack` on OUT_DIR/web, the tarball installed into a
// scratch project (offline: the package has no dependencies), imported by its name from an ES
// module, and every function called and checked; the project's own TypeScript use of the
// package type-checks with tsc against the installed declarations.
//
// Usage: node wasm/tests/package.mjs OUT_DIR/web TSC
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const [webArg, tscArg] = process.argv.slice(2);
if (!webArg || !tscArg) {
  console.error("usage: node package.mjs OUT_DIR/web TSC");
  process.exit(2);
}
const web = resolve(webArg);
const tsc = resolve(tscArg);
const scratch = mkdtempSync(join(tmpdir(), "splitledger-npm-"));
const npm = (args, cwd) => execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8" });

try {
  const manifest = JSON.parse(readFileSync(join(web, "package.json"), "utf8"));
  for (const field of ["name", "version", "types", "files", "exports", "module"]) {
    if (!manifest[field]) throw new Error(`package.json has no ${field}`);
  }
  if (manifest.type !== "module") throw new Error("the package is not an ES module");

  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", scratch, web], scratch));
  const listed = packed[0].files.map((f) => f.path).sort();
  const expected = [...manifest.files, "package.json"].sort();
  if (JSON.stringify(listed) !== JSON.stringify(expected)) {
    throw new Error(`the tarball holds ${JSON.stringify(listed)}, expected ${JSON.stringify(expected)}`);
  }
  console.log(`packed ${packed[0].filename}: ${listed.length} files, ${packed[0].size} bytes`);

  const project = join(scratch, "project");
  execFileSync("mkdir", ["-p", project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  npm(["install", "--offline", join(scratch, packed[0].filename)], project);
  console.log(`installed: node_modules/splitledger-wasm holds ${readdirSync(join(project, "node_modules", "splitledger-wasm")).length} files`);

  writeFileSync(
    join(project, "use.mjs"),
    `
import { readFileSync } from "node:fs";
import { deepStrictEqual, strictEqual, throws } from "node:assert";
import init, { initSync, allocate, balances, balancesFromJson, balancesWith, settlementPlan } from "splitledger-wasm";

strictEqual(typeof init, "function");
initSync({ module: readFileSync(new URL(import.meta.resolve("splitledger-wasm/splitledger_wasm_bg.wasm"))) });

const members = ["ana", "ben", "cleo"];
const lunch = allocate({ id: "lunch", members, amount: "10.00", currency: "EUR", paid_by: "ana", split: { type: "equal" } });
deepStrictEqual(lunch.payers, [{ user_id: "ana", amount: "10.00" }]);
strictEqual(lunch.shares.map((s) => s.amount).sort().join(" "), "3.33 3.33 3.34");
const ledger = { expenses: [{ currency: "EUR", ...lunch }], settlements: [] };
const view = balances(ledger);
deepStrictEqual(
  view.balances[0].members.map((m) => [m.user_id, m.paid, m.owed]),
  members.map((id) => [id, id === "ana" ? "10.00" : "0.00", lunch.shares.find((s) => s.user_id === id).amount]),
);
deepStrictEqual(balancesFromJson(JSON.stringify(ledger)), view);
const taxi = allocate({ id: "taxi", members, amount: "9.00", currency: "EUR", paid_by: "ben", split: { type: "equal" } });
deepStrictEqual(
  balancesWith(view, { expenses: [{ currency: "EUR", ...taxi }] }),
  balances({ expenses: [...ledger.expenses, { currency: "EUR", ...taxi }] }),
);
const plan = settlementPlan(view);
strictEqual(plan.optimal, true);
strictEqual(plan.transfers.length, 2);
throws(() => allocate({ id: "x", members, amount: "1.001", currency: "EUR", paid_by: "ana", split: { type: "equal" } }),
  (e) => e.code === "validation_failed" && e.errors[0].code === "amount_too_precise");
throws(() => balances({ expenses: "none" }), (e) => e.code === "bad_request");
console.log("the installed package answers: allocate, balances, balancesFromJson, balancesWith, settlementPlan");
`,
  );
  process.stdout.write(execFileSync("node", ["use.mjs"], { cwd: project, encoding: "utf8" }));

  writeFileSync(
    join(project, "use.ts"),
    `
import init, { allocate, balancesWith, settlementPlan, type Allocation, type Balances, type PreviewError } from "splitledger-wasm";
await init();
const a: Allocation = allocate({ id: "e", members: ["a", "b"], amount: "1.00", currency: "EUR", paid_by: "a", split: { type: "equal" } });
const start: Balances = { balances: [] };
const after: Balances = balancesWith(start, { expenses: [{ currency: "EUR", payers: a.payers, shares: a.shares }] });
const ok: boolean = settlementPlan(after).optimal;
try { settlementPlan(after); } catch (e) { const code: string = (e as PreviewError).code; console.log(code, ok); }
`,
  );
  execFileSync(tsc, ["--noEmit", "--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "bundler", "--lib", "es2022,dom", "use.ts"], {
    cwd: project,
    stdio: "inherit",
  });
  console.log("the installed package's declarations type-check");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
