// splitledger browser preview: members and expenses in, shares, balances and the settlement
// plan out, recomputed on every keystroke by the splitledger-wasm module (./pkg, built by
// scripts/build-wasm). No dependencies, no network beyond loading the page.
//
// URL parameters:
//   ?case=JSON   start from this group instead of the example, typed into the form field by
//                field (the same path as a person typing). JSON:
//                {"members": ["A", "B"], "expenses": [{"description": "...", "amount": "20.00",
//                 "currency": "EUR", "paid_by": "A", "split": {"type": "equal", "members": ["A"]}
//                 or {"type": "exact" | "percent" | "shares", "shares": {"B": "20.00"}}}]}
//   ?server=URL  the connected mode (connected.js): sign in to the splitledger server at URL
//                (which must allow this page's origin with --cors-origins), pick a group and
//                preview a draft expense against its balances before saving it.
//   ?bench=N     time one preview (balances + settlementPlan) of N random expenses among 20
//                members instead, from JS objects, from JSON text, and as the connected page
//                does it (known balances + one draft); the medians land in #bench (data-*-ms).

import init, { allocate, balances, balancesFromJson, balancesWith, settlementPlan } from "./pkg/splitledger_wasm.js";

const SPLIT_KINDS = [
  ["equal", "equally"],
  ["exact", "exact amounts"],
  ["percent", "percentages"],
  ["shares", "shares (2:1:1)"],
];

let nextKey = 1;
// Repayments are recorded from the plan ("Mark paid") and keep the member names they had.
const state = { members: [], expenses: [], settlements: [] };

// ---------------------------------------------------------------------------------------------
// State

function addMember(name = "") {
  const member = { key: nextKey++, name };
  state.members.push(member);
  return member;
}

function addExpense(fields = {}) {
  const expense = {
    key: nextKey++,
    description: fields.description ?? "",
    amount: fields.amount ?? "",
    currency: fields.currency ?? state.expenses.at(-1)?.currency ?? "EUR",
    payer: fields.payer ?? state.members[0]?.key ?? null,
    type: fields.type ?? "equal",
    // Per member key: included in an equal split, and the typed value of the other kinds.
    included: {},
    values: {},
  };
  state.expenses.push(expense);
  return expense;
}

const memberName = (key) => state.members.find((m) => m.key === key)?.name.trim() ?? "";
const namedMembers = () => state.members.filter((m) => m.name.trim() !== "");

/** The API's expense input for `expense` (what `allocate` takes). */
function allocateInput(expense) {
  const members = namedMembers();
  let split;
  if (expense.type === "equal") {
    split = {
      type: "equal",
      members: members.filter((m) => expense.included[m.key] !== false).map((m) => m.name.trim()),
    };
  } else {
    const field = { exact: "amount", percent: "percent", shares: "weight" }[expense.type];
    split = {
      type: expense.type,
      shares: members
        .filter((m) => (expense.values[m.key] ?? "").trim() !== "")
        .map((m) => ({ user_id: m.name.trim(), [field]: expense.values[m.key].trim() })),
    };
  }
  return {
    id: `expense-${expense.key}`,
    members: members.map((m) => m.name.trim()),
    description: expense.description,
    amount: expense.amount.trim(),
    currency: expense.currency.trim() || null,
    paid_by: memberName(expense.payer) || null,
    split,
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering the form (only on structural changes, so typing never loses focus)

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name === "text") node.textContent = value;
    else if (name === "value") node.value = value;
    else if (name === "checked") node.checked = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

function renderMembers() {
  $("members").replaceChildren(
    ...state.members.map((m, i) =>
      el(
        "li",
        {},
        el("input", {
          type: "text",
          value: m.name,
          placeholder: `Member ${i + 1}`,
          "aria-label": `Member ${i + 1}`,
          "data-bind": `member:${m.key}:name`,
          "data-focus": `member:${m.key}:name`,
        }),
        el("button", {
          type: "button",
          class: "remove",
          title: "Remove member",
          "aria-label": `Remove member ${i + 1}`,
          "data-action": `remove-member:${m.key}`,
          text: "×",
        }),
      ),
    ),
  );
}

function renderExpenses() {
  const focused = document.activeElement?.dataset?.focus;
  const members = namedMembers();
  $("expenses").replaceChildren(
    ...state.expenses.map((x, i) => {
      const bind = (what) => ({ "data-bind": `expense:${x.key}:${what}`, "data-focus": `expense:${x.key}:${what}` });
      const payer = el(
        "select",
        { ...bind("payer"), "aria-label": "Paid by", "data-field": "paid_by" },
        ...members.map((m) =>
          el("option", { value: String(m.key), text: m.name.trim(), selected: m.key === x.payer }),
        ),
      );
      const kind = el(
        "select",
        { ...bind("type"), "aria-label": "Split", "data-field": "split" },
        ...SPLIT_KINDS.map(([value, label]) => el("option", { value, text: label, selected: value === x.type })),
      );
      const portions = members.map((m) => {
        if (x.type === "equal") {
          return el(
            "label",
            {},
            el("input", { type: "checkbox", checked: x.included[m.key] !== false, ...bind(`include:${m.key}`) }),
            m.name.trim(),
          );
        }
        const placeholder = { exact: "0.00", percent: "%", shares: "1" }[x.type];
        return el(
          "label",
          {},
          m.name.trim(),
          el("input", {
            type: "text",
            inputmode: "decimal",
            value: x.values[m.key] ?? "",
            placeholder,
            "aria-label": `${m.name.trim()} (${x.type})`,
            "data-member": m.name.trim(),
            ...bind(`value:${m.key}`),
          }),
        );
      });
      return el(
        "div",
        { class: "expense", "data-expense": String(x.key) },
        el(
          "div",
          { class: "row" },
          el("input", {
            type: "text",
            class: "description",
            value: x.description,
            placeholder: `Expense ${i + 1}`,
            "aria-label": "Description",
            ...bind("description"),
          }),
          el("input", {
            type: "text",
            class: "amount",
            inputmode: "decimal",
            value: x.amount,
            placeholder: "0.00",
            "aria-label": "Amount",
            "data-field": "amount",
            ...bind("amount"),
          }),
          el("input", {
            type: "text",
            class: "currency",
            value: x.currency,
            maxlength: "3",
            "aria-label": "Currency",
            "data-field": "currency",
            ...bind("currency"),
          }),
          el("span", { class: "note", text: "paid by" }),
          payer,
          el("span", { class: "note", text: "split" }),
          kind,
          el("button", {
            type: "button",
            class: "remove",
            title: "Remove expense",
            "aria-label": `Remove expense ${i + 1}`,
            "data-action": `remove-expense:${x.key}`,
            text: "×",
          }),
        ),
        el("div", { class: "portions" }, ...portions),
        el("p", { class: "shares" }),
        el("ul", { class: "errors" }),
      );
    }),
  );
  if (focused) document.querySelector(`[data-focus="${focused}"]`)?.focus();
}

// ---------------------------------------------------------------------------------------------
// The preview: allocate every expense, then balances, then the plan

/** The input that `field` (e.g. "split.shares[1].percent") of an expense's errors refers to. */
function inputFor(row, input, field) {
  const direct = row.querySelector(`[data-field="${field}"]`);
  if (direct) return direct;
  const share = /^split\.(shares|members)\[(\d+)\]/.exec(field);
  if (share) {
    const list = share[1] === "shares" ? input.split.shares : input.split.members;
    const entry = list?.[Number(share[2])];
    const name = typeof entry === "string" ? entry : entry?.user_id;
    const target = row.querySelector(`[data-member="${CSS.escape(name ?? "")}"]`);
    if (target) return target;
  }
  if (field.startsWith("payers")) return row.querySelector('[data-field="paid_by"]');
  if (field.startsWith("split")) return row.querySelector('[data-field="split"]');
  return null;
}

function showErrors(row, input, error) {
  const list = row.querySelector(".errors");
  const errors = error.errors?.length ? error.errors : [{ field: "", message: error.message }];
  list.replaceChildren(
    ...errors.map((e) => el("li", { text: `${describeField(e.field, input)}${e.message}`, "data-code": e.code ?? error.code })),
  );
  for (const e of errors) {
    const target = inputFor(row, input, e.field);
    if (target) target.setAttribute("aria-invalid", "true");
  }
}

/** A short human prefix for an error's field, naming the member when there is one. */
function describeField(field, input) {
  if (!field) return "";
  const fixed = { amount: "Amount", currency: "Currency", paid_by: "Paid by", payers: "Paid by" }[field];
  if (fixed) return `${fixed}: `;
  const entry = /^split\.(shares|members)\[(\d+)\]/.exec(field);
  if (entry) {
    const item = (entry[1] === "shares" ? input.split.shares : input.split.members)?.[Number(entry[2])];
    const name = typeof item === "string" ? item : item?.user_id;
    if (name) return `${name}: `;
  }
  if (field.startsWith("split")) return "Split: ";
  return `${field}: `;
}

const money = (amount, currency) => `${amount} ${currency}`;

/** The plan on screen, so "Mark paid" records exactly the transfer shown. */
let lastPlan = { transfers: [], optimal: true };

function recompute() {
  const started = performance.now();
  const ledger = { expenses: [], settlements: state.settlements };
  for (const expense of state.expenses) {
    const row = document.querySelector(`[data-expense="${expense.key}"]`);
    if (!row) continue;
    for (const invalid of row.querySelectorAll('[aria-invalid="true"]')) invalid.removeAttribute("aria-invalid");
    row.querySelector(".errors").replaceChildren();
    const shares = row.querySelector(".shares");
    const input = allocateInput(expense);
    if (input.amount === "") {
      shares.textContent = "Enter an amount.";
      continue;
    }
    try {
      const allocation = allocate(input);
      const currency = input.currency.toUpperCase();
      ledger.expenses.push({ currency, payers: allocation.payers, shares: allocation.shares });
      shares.textContent = "Shares: " + allocation.shares.map((s) => `${s.user_id} ${s.amount}`).join(" · ");
    } catch (error) {
      shares.textContent = "";
      showErrors(row, input, error);
    }
  }

  let view;
  let plan;
  try {
    view = balances(ledger);
    plan = settlementPlan(view);
  } catch (error) {
    // Every expense passed to balances was allocated by the module, so this is not expected;
    // say so rather than show stale numbers.
    $("balances").replaceChildren(el("p", { class: "error", text: error.message }));
    $("plan").replaceChildren();
    $("plan-note").textContent = "";
    lastPlan = { transfers: [], optimal: true };
    return;
  }

  $("balances").replaceChildren(
    ...(view.balances.length === 0 ? [el("p", { class: "note", text: "No expenses yet." })] : []),
    ...view.balances.map((block) =>
      el(
        "table",
        {},
        el("caption", { text: block.currency }),
        el("thead", {}, el("tr", {}, ...["Member", "Paid", "Owes", "Net"].map((h) => el("th", { text: h })))),
        el(
          "tbody",
          {},
          ...block.members.map((m) => {
            const sign = m.net.startsWith("-") ? "negative" : /[1-9]/.test(m.net) ? "positive" : "";
            return el(
              "tr",
              {},
              el("td", { text: m.user_id }),
              el("td", { text: m.paid }),
              el("td", { text: m.owed }),
              el("td", { class: sign, text: sign === "positive" ? `+${m.net}` : m.net }),
            );
          }),
        ),
      ),
    ),
  );

  $("plan").replaceChildren(
    ...plan.transfers.map((t, i) =>
      el(
        "li",
        { "data-from": t.from, "data-to": t.to, "data-amount": t.amount, "data-currency": t.currency },
        el(
          "span",
          { class: "transfer" },
          `${t.from} pays ${t.to} `,
          el("span", { class: "amount", text: money(t.amount, t.currency) }),
        ),
        el("button", { type: "button", "data-action": `mark-paid:${i}`, text: "Mark paid" }),
      ),
    ),
  );
  lastPlan = plan;
  $("repayments-title").hidden = state.settlements.length === 0;
  $("repayments").replaceChildren(
    ...state.settlements.map((s, i) =>
      el(
        "li",
        {},
        `${s.from_user} paid ${s.to_user} ${money(s.amount, s.currency)}`,
        el("button", {
          type: "button",
          class: "remove",
          title: "Remove repayment",
          "aria-label": `Remove repayment ${i + 1}`,
          "data-action": `remove-repayment:${i}`,
          text: "×",
        }),
      ),
    ),
  );
  const count = plan.transfers.length;
  $("plan-note").textContent =
    view.balances.length === 0
      ? ""
      : count === 0
        ? "Everyone is settled up."
        : `${count} payment${count === 1 ? "" : "s"}${plan.optimal ? ", the fewest possible." : " (not proven minimal: many members)."}`;
  $("timing").textContent = `Computed in ${(performance.now() - started).toFixed(1)} ms.`;
}

// ---------------------------------------------------------------------------------------------
// Events

function onEdit(event) {
  const bind = event.target.dataset?.bind;
  if (!bind) return;
  const [kind, key, what, member] = bind.split(":");
  if (kind === "member") {
    const m = state.members.find((x) => x.key === Number(key));
    if (!m) return;
    m.name = event.target.value;
    renderExpenses(); // payer lists and per-member inputs show the names
  } else {
    const x = state.expenses.find((e) => e.key === Number(key));
    if (!x) return;
    const target = event.target;
    if (what === "payer") x.payer = Number(target.value);
    else if (what === "include") x.included[Number(member)] = target.checked;
    else if (what === "value") x.values[Number(member)] = target.value;
    else if (what === "type") {
      x.type = target.value;
      renderExpenses();
    } else x[what] = target.value;
  }
  recompute();
}

function onClick(event) {
  const action = event.target.closest("[data-action]")?.dataset.action;
  if (!action) return;
  const [what, key] = action.split(":");
  if (what === "add-member") {
    const m = addMember("");
    renderMembers();
    renderExpenses();
    document.querySelector(`[data-focus="member:${m.key}:name"]`)?.focus();
  } else if (what === "remove-member") {
    state.members = state.members.filter((m) => m.key !== Number(key));
    for (const x of state.expenses) {
      if (x.payer === Number(key)) x.payer = state.members[0]?.key ?? null;
    }
    renderMembers();
    renderExpenses();
  } else if (what === "add-expense") {
    const x = addExpense();
    renderExpenses();
    document.querySelector(`[data-focus="expense:${x.key}:description"]`)?.focus();
  } else if (what === "remove-expense") {
    state.expenses = state.expenses.filter((x) => x.key !== Number(key));
    renderExpenses();
  } else if (what === "mark-paid") {
    const t = lastPlan.transfers[Number(key)];
    if (t) state.settlements.push({ from_user: t.from, to_user: t.to, amount: t.amount, currency: t.currency });
  } else if (what === "remove-repayment") {
    state.settlements.splice(Number(key), 1);
  }
  recompute();
}

// ---------------------------------------------------------------------------------------------
// Starting points: the example, a case from the URL, or the benchmark

/** Types `value` into the form control bound to `bind`, as a person would. */
function type(bind, value) {
  const control = document.querySelector(`[data-bind="${bind}"]`);
  if (!control) throw new Error(`no field ${bind} for the case`);
  if (control.type === "checkbox") {
    control.checked = value;
    control.dispatchEvent(new Event("change", { bubbles: true }));
    return;
  }
  control.focus();
  control.value = String(value);
  control.dispatchEvent(new Event(control.tagName === "SELECT" ? "change" : "input", { bubbles: true }));
}

/** Builds an empty form of the case's size, then types the case in field by field. */
function enterCase(group) {
  state.members = [];
  state.expenses = [];
  const members = (group.members ?? []).map(() => addMember(""));
  for (const _ of group.expenses ?? []) addExpense({ currency: "" });
  renderMembers();
  renderExpenses();
  const keyOf = (name) => members[(group.members ?? []).indexOf(name)]?.key;
  (group.members ?? []).forEach((name, i) => type(`member:${members[i].key}:name`, name));
  (group.expenses ?? []).forEach((e, i) => {
    const key = state.expenses[i].key;
    type(`expense:${key}:description`, e.description ?? "");
    type(`expense:${key}:amount`, e.amount ?? "");
    type(`expense:${key}:currency`, e.currency ?? "EUR");
    if (e.paid_by != null) type(`expense:${key}:payer`, keyOf(e.paid_by));
    const split = e.split ?? { type: "equal" };
    type(`expense:${key}:type`, split.type);
    if (split.type === "equal") {
      if (split.members) {
        for (const m of members) type(`expense:${key}:include:${m.key}`, split.members.includes(memberName(m.key)));
      }
    } else {
      for (const [name, value] of Object.entries(split.shares ?? {})) type(`expense:${key}:value:${keyOf(name)}`, value);
    }
  });
  document.activeElement?.blur();
  window.scrollTo(0, 0);
}

function example() {
  const [ana, ben] = [addMember("Ana"), addMember("Ben"), addMember("Chloé")];
  addExpense({ description: "Groceries", amount: "42.00", currency: "EUR", payer: ana.key });
  addExpense({ description: "Train tickets", amount: "100.00", currency: "EUR", payer: ben.key });
  renderMembers();
  renderExpenses();
  recompute();
}

/** A small seeded generator (mulberry32), so every run times the same ledger. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bench(count) {
  $("bench-panel").hidden = false;
  const next = random(20261122);
  const pick = (n) => Math.floor(next() * n);
  const members = Array.from({ length: 20 }, (_, i) => `member-${String(i + 1).padStart(2, "0")}`);
  const ledger = { expenses: [], settlements: [] };
  const setupStart = performance.now();
  for (let i = 0; i < count; i++) {
    const among = members.filter(() => next() < 0.3);
    if (among.length === 0) among.push(members[pick(20)]);
    const cents = 100 + pick(50_000);
    const allocation = allocate({
      id: `bench-${i}`,
      members,
      amount: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`,
      currency: "EUR",
      paid_by: members[pick(20)],
      split: { type: "equal", members: among },
    });
    ledger.expenses.push({ currency: "EUR", ...allocation });
  }
  const setupMs = performance.now() - setupStart;

  const runs = 9;
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  /** Runs `steps` (each a function of the previous result) `runs` times after a warm-up. */
  const time = (steps) => {
    const each = steps.map(() => []);
    const totals = [];
    let last;
    for (let r = -1; r < runs; r++) {
      let value;
      const t0 = performance.now();
      let t = t0;
      steps.forEach((step, i) => {
        value = step(value);
        const now = performance.now();
        if (r >= 0) each[i].push(now - t);
        t = now;
      });
      if (r >= 0) totals.push(t - t0);
      last = value;
    }
    return { total: median(totals), steps: each.map(median), last };
  };
  const plan = (view) => settlementPlan(view);

  // The documented path: the ledger as JS objects.
  const objects = time([() => balances(ledger), plan]);
  // The ledger as JSON text, as a page holds it when it keeps what the server sent.
  const text = JSON.stringify(ledger);
  const fromText = time([() => balancesFromJson(text), plan]);
  // The same, with the page stringifying its objects first.
  const stringified = time([() => JSON.stringify(ledger), (t) => balancesFromJson(t), plan]);
  // The connected page: balances known from the server, plus one draft, then the plan.
  const known = balances(ledger);
  const draft = allocate({
    id: "draft",
    members,
    amount: "123.45",
    currency: "EUR",
    paid_by: members[3],
    split: { type: "equal", members: members.slice(0, 7) },
  });
  const incremental = time([
    () => balancesWith(known, { expenses: [{ currency: "EUR", ...draft }] }),
    plan,
  ]);
  const result = objects.last;

  const out = $("bench");
  out.dataset.medianMs = objects.total.toFixed(2);
  out.dataset.balancesMs = objects.steps[0].toFixed(2);
  out.dataset.planMs = objects.steps[1].toFixed(2);
  out.dataset.jsonMs = fromText.total.toFixed(2);
  out.dataset.jsonBalancesMs = fromText.steps[0].toFixed(2);
  out.dataset.stringifiedMs = stringified.total.toFixed(2);
  out.dataset.incrementalMs = incremental.total.toFixed(3);
  out.dataset.transfers = String(result.transfers.length);
  if (JSON.stringify(fromText.last) !== JSON.stringify(result) || JSON.stringify(stringified.last) !== JSON.stringify(result)) {
    out.dataset.error = "the JSON path planned differently from the objects path";
  }
  out.textContent =
    `One preview of ${count} expenses among ${members.length} members, medians of ${runs} runs: ` +
    `objects ${objects.total.toFixed(2)} ms (balances ${objects.steps[0].toFixed(2)} ms, plan ${objects.steps[1].toFixed(2)} ms); ` +
    `JSON text ${fromText.total.toFixed(2)} ms (balancesFromJson ${fromText.steps[0].toFixed(2)} ms); ` +
    `JSON.stringify + text ${stringified.total.toFixed(2)} ms; ` +
    `server balances + one draft + plan ${incremental.total.toFixed(3)} ms. ` +
    `${result.transfers.length} transfers, optimal: ${result.optimal}. ` +
    `Building the ledger with allocate took ${setupMs.toFixed(0)} ms.`;
}

async function main() {
  await init();
  const params = new URLSearchParams(location.search);
  if (params.has("server")) {
    const { start } = await import("./connected.js");
    start(params.get("server"));
    return;
  }
  if (params.has("bench")) {
    bench(Number(params.get("bench")) || 10_000);
    return;
  }
  const app = $("app");
  app.hidden = false;
  // Text fields answer as they are typed in; selects and checkboxes when they change (which
  // some browsers also announce as an input event: answered once, here).
  const choice = (target) => target.tagName === "SELECT" || target.type === "checkbox";
  app.addEventListener("input", (event) => choice(event.target) || onEdit(event));
  app.addEventListener("change", (event) => choice(event.target) && onEdit(event));
  app.addEventListener("click", onClick);
  if (params.has("case")) enterCase(JSON.parse(params.get("case")));
  else example();
}

main().catch((error) => {
  const out = $("load-error");
  out.hidden = false;
  out.textContent = `The preview could not start: ${error.message}`;
  const bench = $("bench");
  if (bench) bench.dataset.error = error.message;
});
