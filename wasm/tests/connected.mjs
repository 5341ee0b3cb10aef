// The demo page's connected mode (examples/browser/?server=URL) in headless Chromium against a
// real splitledger-server that allows the page's origin (--cors-origins): a person signs in,
// sees their groups, opens one, and types draft expenses — a percent split, then income paid
// in another currency at an exchange rate, then a refused amount. For each, the preview the
// page shows (shares, balances after, plan after) is checked against the Node build of the
// module, then Save must store exactly the previewed rows under the draft's id, and the
// server's balances and plan must equal the preview.
//
// Usage: node wasm/tests/connected.mjs examples/browser MODULE_DIR/node
// Environment: SPLITLEDGER_SERVER, CHROMIUM, CHROMEDRIVER.
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { cleanup, deadline, openBrowser } from "../../scripts/lib/webdriver.mjs";
import { Client, startServer } from "./server.mjs";
import { serve } from "./static.mjs";

const [rootArg, moduleDir] = process.argv.slice(2);
if (!rootArg || !moduleDir) {
  console.error("usage: node connected.mjs PAGE_ROOT MODULE_DIR/node");
  process.exit(2);
}
const wasm = createRequire(import.meta.url)(resolve(moduleDir, "splitledger_wasm.js"));
const cancelDeadline = deadline(180, "connected page test");

/** JSON with every object's keys sorted: WebDriver hands back page objects with theirs sorted. */
const canonical = (value) =>
  JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );

function expectEqual(actual, expected, what) {
  if (canonical(actual) !== canonical(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
  console.log(`ok: ${what}`);
}

const withoutNames = (view) => ({
  balances: view.balances.map((b) => ({ currency: b.currency, members: b.members.map(({ display_name: _, ...m }) => m) })),
});

/** A group with history: Ann (the user), Ben and Cleo (placeholders). */
async function seed(base) {
  const ann = await Client.signUp(base, "Ann");
  const api = ann.client;
  await api.call("POST", "/groups", { name: "Tokyo trip", currency: "JPY" });
  const flat = await api.call("POST", "/groups", { name: "Flat", currency: "EUR" });
  for (const display_name of ["Ben", "Cleo"]) await api.call("POST", `/groups/${flat.id}/members`, { display_name });
  const members = (await api.call("GET", `/groups/${flat.id}`)).members.map((m) => m.user_id);
  const [a, b, c] = members;
  await api.call("POST", `/groups/${flat.id}/expenses`, { description: "Rent", amount: "1200.00", paid_by: a, split: { type: "equal" } });
  await api.call("POST", `/groups/${flat.id}/expenses`, {
    description: "Internet",
    amount: "39.99",
    payers: [{ user_id: b, amount: "20.00" }, { user_id: c, amount: "19.99" }],
    split: { type: "shares", shares: [{ user_id: a, weight: "2" }, { user_id: b, weight: "1" }, { user_id: c, weight: "1" }] },
  });
  await api.call("POST", `/groups/${flat.id}/expenses`, { kind: "income", description: "Deposit back", amount: "300.00", paid_by: b, split: { type: "equal" } });
  await api.call("POST", `/groups/${flat.id}/settlements`, { from_user: c, to_user: a, amount: "100.00" });
  return { ann, api, flat, members };
}

/** The draft's preview as the page shows it, once its shares are there. */
const PREVIEW = `
  const shares = document.getElementById('draft-shares').dataset.shares;
  if (!shares || document.getElementById('save').disabled) return null;
  const nets = [...document.querySelectorAll('#draft-balances tr[data-member]')].map((tr) => [tr.dataset.member, tr.cells[1].textContent, tr.cells[2].textContent, tr.querySelector('[data-net]').dataset.net]);
  const plan = [...document.querySelectorAll('#draft-plan li')].map((li) => li.dataset.transfer);
  return { id: document.getElementById('draft').dataset.id, shares: JSON.parse(shares), nets, plan, text: document.getElementById('draft-shares').textContent };`;

async function type(browser, css, text) {
  const field = await browser.find(css);
  await browser.clear(field);
  await browser.keys(field, text);
}

async function choose(browser, select, value) {
  await browser.click(await browser.find(`#${select} option[value="${value}"]`));
}

/** Checks the page's preview against the module in Node, saves, and checks the server. */
async function previewThenSave(browser, ctx, draft, what) {
  const shown = await browser.until(`the preview of ${what}`, 20, PREVIEW);
  const served = await ctx.api.call("GET", `/groups/${ctx.flat.id}/balances`);
  const allocation = wasm.allocate({ ...draft, id: shown.id, members: ctx.members, group_currency: "EUR" });
  expectEqual(shown.shares, allocation.shares, `${what}: the shares the page previews`);
  const after = wasm.balancesWith(served, {
    expenses: [{ kind: draft.kind ?? "expense", currency: allocation.currency ?? draft.currency, payers: allocation.payers, shares: allocation.shares }],
  });
  expectEqual(
    shown.nets,
    after.balances.flatMap((b) => b.members.map((m) => [m.user_id, m.paid, m.owed, m.net])),
    `${what}: the balances after it`,
  );
  const plan = wasm.settlementPlan(after);
  expectEqual(shown.plan, plan.transfers.map((t) => `${t.from}>${t.to} ${t.amount} ${t.currency}`), `${what}: the plan after it`);

  await browser.click(await browser.find("#save"));
  const saved = await browser.until(
    `the saved ${what}`,
    20,
    "const s = document.getElementById('saved'); return s.dataset.equal ? { equal: s.dataset.equal, id: s.dataset.expenseId, text: s.textContent } : null;",
  );
  expectEqual(saved.equal, "true", `${what}: the page finds the server's answer equal to the preview`);
  expectEqual(saved.id, shown.id, `${what}: stored under the draft's id`);
  const stored = await ctx.api.call("GET", `/groups/${ctx.flat.id}/expenses/${shown.id}`);
  expectEqual({ payers: stored.payers, shares: stored.shares }, { payers: allocation.payers, shares: allocation.shares }, `${what}: the stored rows`);
  expectEqual(withoutNames(await ctx.api.call("GET", `/groups/${ctx.flat.id}/balances`)), after, `${what}: the server's balances`);
  expectEqual(await ctx.api.call("GET", `/groups/${ctx.flat.id}/settlement-plan`), plan, `${what}: the server's plan`);
  return stored;
}

async function run() {
  const port = await serve(resolve(rootArg));
  const origin = `http://127.0.0.1:${port}`;
  const { base } = await startServer({ args: ["--cors-origins", origin] });
  const ctx = await seed(base);
  const browser = await openBrowser({
    explain: "return [...document.querySelectorAll('#load-error, #signin-errors li, #draft-errors li')].map((e) => e.textContent).join('; ')",
  });
  await browser.go(`${origin}/?server=${encodeURIComponent(base)}`);

  await type(browser, "#signin-email", ctx.ann.email);
  await type(browser, "#signin-password", ctx.ann.password);
  await browser.click(await browser.find("#signin-button"));
  const groups = await browser.until(
    "the list of groups",
    20,
    "const b = [...document.querySelectorAll('#groups [data-group]')]; return b.length ? b.map((x) => x.textContent) : null;",
  );
  expectEqual([...groups].sort(), ["Flat (EUR)", "Tokyo trip (JPY)"], "the user's groups");

  await browser.click(await browser.find(`[data-group="${ctx.flat.id}"]`));
  const nets = await browser.until(
    "the group's balances",
    20,
    "const r = [...document.querySelectorAll('#server-balances tr[data-member]')]; return r.length ? r.map((tr) => [tr.dataset.member, tr.querySelector('[data-net]').dataset.net]) : null;",
  );
  const served = await ctx.api.call("GET", `/groups/${ctx.flat.id}/balances`);
  expectEqual(nets, served.balances[0].members.map((m) => [m.user_id, m.net]), "the group's balances as the server gives them");

  // A percent split typed in, share by share.
  const [a, b, c] = ctx.members;
  await type(browser, "#draft-description", "Groceries");
  await type(browser, "#draft-amount", "100.01");
  await choose(browser, "draft-payer", b);
  await choose(browser, "draft-split", "percent");
  for (const [member, percent] of [[a, "33.33"], [b, "33.33"], [c, "33.34"]]) {
    await type(browser, `#draft-portions [data-member="${member}"]`, percent);
  }
  await previewThenSave(browser, ctx, {
    kind: "expense", amount: "100.01", currency: "EUR", paid_by: b,
    split: { type: "percent", shares: [{ user_id: a, percent: "33.33" }, { user_id: b, percent: "33.33" }, { user_id: c, percent: "33.34" }] },
  }, "a percent split");

  // Income received in US dollars, booked in euros at a rate, shared by Ann and Cleo.
  await choose(browser, "draft-kind", "income");
  await type(browser, "#draft-description", "Sold the old sofa");
  await type(browser, "#draft-amount", "45.55");
  await type(browser, "#draft-currency", "USD");
  await type(browser, "#draft-rate", "0.9137");
  await choose(browser, "draft-payer", c);
  await browser.click(await browser.find(`#draft-portions [data-member="${b}"]`)); // unticks Ben
  const stored = await previewThenSave(browser, ctx, {
    kind: "income", amount: "45.55", currency: "USD", exchange_rate: "0.9137", paid_by: c,
    split: { type: "equal", members: [a, c] },
  }, "income booked at an exchange rate");
  expectEqual([stored.kind, stored.currency, stored.original?.currency], ["income", "EUR", "USD"], "the income is booked in euros");

  // A fraction of a cent: refused as the server would, and nothing can be saved.
  await type(browser, "#draft-amount", "12.345");
  const refusal = await browser.until(
    "the refusal of 12.345",
    20,
    "const li = document.querySelector('#draft-errors li'); return li && document.getElementById('save').disabled ? li.dataset.code : null;",
  );
  expectEqual(refusal, "amount_too_precise", "a refused amount shows the server's code and cannot be saved");
}

try {
  await run();
  await cleanup();
  cancelDeadline();
  console.log("connected page test: passed");
} catch (error) {
  console.error(`connected page test: ${error.stack ?? error.message}`);
  await cleanup();
  process.exit(1);
}
