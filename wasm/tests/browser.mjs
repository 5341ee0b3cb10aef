// Drives the browser demo (examples/browser, with the web module in its pkg/ folder) in
// headless Chromium through chromedriver, over plain WebDriver HTTP (scripts/lib/webdriver.mjs):
// no npm packages and no browser downloads. Serves the folder itself from 127.0.0.1 on a free
// port, and stops the server, chromedriver and Chromium when done, on failure and on timeout.
//
// Usage:
//   node wasm/tests/browser.mjs test  examples/browser   a case is entered, the plan checked
//   node wasm/tests/browser.mjs bench examples/browser [N] one preview of N expenses, timed
//
// Environment: CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default chromedriver).
import { resolve } from "node:path";
import { cleanup, deadline, openBrowser } from "../../scripts/lib/webdriver.mjs";
import { serve } from "./static.mjs";

const [mode, rootArg, countArg] = process.argv.slice(2);
if (!["test", "bench"].includes(mode) || !rootArg) {
  console.error("usage: node browser.mjs test|bench ROOT [N]");
  process.exit(2);
}
const root = resolve(rootArg);
const limitSeconds = mode === "test" ? 120 : 300;
const cancelDeadline = deadline(limitSeconds, `browser ${mode}`);

// --- the checks -----------------------------------------------------------------------------

const PLAN = `
  const items = [...document.querySelectorAll('#plan li .transfer')].map((t) => t.textContent.trim());
  return items.length === arguments[0] ? items : null;`;

function expectEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, the page shows ${JSON.stringify(actual)}`);
  }
  console.log(`ok: ${what}: ${JSON.stringify(actual)}`);
}

async function test(browser, port) {
  // The Tricount FAQ: A pays 20 for B; B pays 30 shared by all three. A +10, B 0, C -10.
  const group = {
    members: ["A", "B", "C"],
    expenses: [
      { description: "Lunch", amount: "20.00", currency: "EUR", paid_by: "A", split: { type: "exact", shares: { B: "20.00" } } },
      { description: "Taxi", amount: "30.00", currency: "EUR", paid_by: "B", split: { type: "equal", members: ["A", "B", "C"] } },
    ],
  };
  await browser.go(`http://127.0.0.1:${port}/?case=${encodeURIComponent(JSON.stringify(group))}`);
  let plan = await browser.until("the plan of the case", 20, PLAN, 1);
  expectEqual(plan, ["C pays A 10.00 EUR"], "plan of the case entered from the URL");
  const nets = await browser.run(
    "return [...document.querySelectorAll('#balances tbody tr')].map((tr) => [tr.cells[0].textContent, tr.cells[3].textContent])",
  );
  expectEqual(nets, [["A", "+10.00"], ["B", "0.00"], ["C", "-10.00"]], "balances");

  // A person types a fraction of a cent into the taxi's amount: refused inline, with the code.
  const taxi = await browser.find('[data-expense]:nth-child(2) input.amount');
  await browser.clear(taxi);
  await browser.keys(taxi, "36.005");
  const refusal = await browser.until(
    "the inline error",
    10,
    `const row = document.querySelector('[data-expense]:nth-child(2)');
     const li = row.querySelector('.errors li');
     return li && row.querySelector('input.amount').getAttribute('aria-invalid') === 'true'
       ? [li.dataset.code, li.textContent] : null;`,
  );
  expectEqual(refusal[0], "amount_too_precise", "inline error code");

  // ...corrects it: the plan follows the keystrokes.
  await browser.clear(taxi);
  await browser.keys(taxi, "36.00");
  plan = await browser.until("the updated plan", 10, PLAN, 2);
  expectEqual(plan, ["C pays A 8.00 EUR", "C pays B 4.00 EUR"], "plan after typing 36.00");
  const shares = await browser.run("return document.querySelector('[data-expense]:nth-child(2) .shares').textContent");
  expectEqual(shares, "Shares: A 12.00 · B 12.00 · C 12.00", "shares of the taxi");

  // C pays A and says so: the plan keeps the other transfer, then everyone is settled.
  await browser.click(await browser.find("#plan li:first-child button"));
  plan = await browser.until("the plan after one repayment", 10, PLAN, 1);
  expectEqual(plan, ["C pays B 4.00 EUR"], "plan after marking C → A paid");
  await browser.click(await browser.find("#plan li:first-child button"));
  const settled = await browser.until(
    "the settled state",
    10,
    "return document.querySelectorAll('#plan li').length === 0 && document.getElementById('plan-note').textContent",
  );
  expectEqual(settled, "Everyone is settled up.", "note after both repayments");
  const repayments = await browser.run(
    "return [...document.querySelectorAll('#repayments li')].map((li) => li.firstChild.textContent)",
  );
  expectEqual(repayments, ["C paid A 8.00 EUR", "C paid B 4.00 EUR"], "repayments listed");
}

async function bench(browser, port) {
  const count = Number(countArg ?? 10_000);
  await browser.go(`http://127.0.0.1:${port}/?bench=${count}`);
  const result = await browser.until(
    "the benchmark",
    limitSeconds - 20,
    `const out = document.getElementById('bench');
     if (out.dataset.error) return { error: out.dataset.error };
     return out.dataset.medianMs ? { ...out.dataset, text: out.textContent } : null;`,
  );
  if (result.error) throw new Error(result.error);
  const version = await browser.run("return navigator.userAgent");
  console.log(result.text);
  console.log(`browser: ${version}`);
  console.log(
    `median_ms=${result.medianMs} balances_ms=${result.balancesMs} plan_ms=${result.planMs} ` +
      `json_ms=${result.jsonMs} json_balances_ms=${result.jsonBalancesMs} stringified_ms=${result.stringifiedMs} ` +
      `incremental_ms=${result.incrementalMs}`,
  );
}

try {
  const port = await serve(root);
  const browser = await openBrowser({ explain: "return document.getElementById('load-error')?.textContent" });
  await (mode === "test" ? test(browser, port) : bench(browser, port));
  await cleanup();
  cancelDeadline();
  if (mode === "test") console.log("browser test: passed");
} catch (error) {
  console.error(`browser ${mode}: ${error.message}`);
  await cleanup();
  process.exit(1);
}
