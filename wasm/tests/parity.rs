//! Parity between the browser module and the server: the cases of `core/tests/scenarios.json`
//! and a few hundred seeded random ones (valid, refused and malformed) are answered here by
//! core natively, written with their answers to a file, and replayed by
//! `wasm/tests/parity.mjs` through the built Node module, which fails on any difference.
//!
//! Needs the module built by `scripts/build-wasm OUT_DIR`: run by `scripts/test-wasm`, or
//! `SPLITLEDGER_WASM_NODE=OUT_DIR/node cargo test -p splitledger-wasm --test parity -- --ignored`.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use splitledger_core::error::{VALIDATION_FAILED, ValidationErrors};
use splitledger_core::money::Currency;
use splitledger_core::preview;
use splitledger_wasm::BAD_REQUEST;

/// Random cases of each function.
const RANDOM_CASES: usize = 150;

/// splitmix64: small, seeded, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo + 1).expect("non-empty range");
        lo + i64::try_from(self.next() % span).expect("span fits")
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: i64) -> bool {
        self.range(1, 100) <= percent
    }

    /// A size in `lo..=hi`.
    fn size(&mut self, lo: usize, hi: usize) -> usize {
        let lo = i64::try_from(lo).expect("small");
        let hi = i64::try_from(hi).expect("small");
        usize::try_from(self.range(lo, hi)).expect("non-negative")
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let last = i64::try_from(items.len()).expect("short list") - 1;
        &items[usize::try_from(self.range(0, last)).expect("index")]
    }

    /// `total` cut into `parts` non-negative pieces.
    fn partition(&mut self, total: i64, parts: usize) -> Vec<i64> {
        let mut cuts: Vec<i64> = (1..parts).map(|_| self.range(0, total)).collect();
        cuts.push(0);
        cuts.push(total);
        cuts.sort_unstable();
        cuts.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// `count` distinct members from the pool, in random order.
    fn members(&mut self, count: usize) -> Vec<String> {
        let mut pool: Vec<String> = MEMBERS.iter().map(|m| (*m).to_owned()).collect();
        let mut out = Vec::new();
        while out.len() < count && !pool.is_empty() {
            let last = i64::try_from(pool.len()).expect("short list") - 1;
            out.push(pool.swap_remove(usize::try_from(self.range(0, last)).expect("index")));
        }
        out
    }
}

/// Member ids: short names, non-ASCII, UUIDs, look-alikes that differ only in case.
const MEMBERS: &[&str] = &[
    "ana",
    "ben",
    "Ben",
    "chloé",
    "dai",
    "eve",
    "fatima",
    "gus",
    "hé 😀",
    "0191c3e4-6f2a-7c3b-9d4e-5f6a7b8c9d0e",
    "0191c3e4-6f2a-7c3b-9d4e-5f6a7b8c9d0f",
    "ffffffff-ffff-4fff-bfff-ffffffffffff",
    "i",
    "j",
    "k",
    "l",
    "m",
    "n",
    "o",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "v",
    "w",
    "x",
];

const CURRENCIES: &[&str] = &["EUR", "EUR", "USD", "JPY", "KWD", "CHF"];

/// An amount of `minor` units written as the currency writes it.
fn fmt(code: &str, minor: i64) -> String {
    Currency::parse(code).expect("known currency").format(minor)
}

/// One case: which function, its input, and core's native answer.
#[derive(Serialize)]
struct Case {
    function: &'static str,
    input: Value,
    expected: Value,
}

/// Core's answer for `input`, as the module must give it: `{ok}` or `{error: {code, ...}}`.
fn native<I: DeserializeOwned, O: Serialize>(
    input: &Value,
    operation: fn(&I) -> Result<O, ValidationErrors>,
) -> Value {
    let Ok(parsed) = serde_json::from_value::<I>(input.clone()) else {
        // serde_json and serde-wasm-bindgen word their messages differently: the code is the
        // contract.
        return json!({"error": {"code": BAD_REQUEST}});
    };
    match operation(&parsed) {
        Ok(out) => json!({"ok": serde_json::to_value(out).expect("output serializes")}),
        Err(e) => json!({"error": {
            "code": VALIDATION_FAILED,
            "errors": serde_json::to_value(&e).expect("errors serialize"),
            "message": e.to_string(),
        }}),
    }
}

fn allocate_case(input: Value) -> Case {
    Case {
        function: "allocate",
        expected: native(&input, preview::allocate),
        input,
    }
}

fn balances_case(input: Value) -> Case {
    Case {
        function: "balances",
        expected: native(&input, preview::balances),
        input,
    }
}

fn plan_case(input: Value) -> Case {
    Case {
        function: "settlementPlan",
        expected: native(&input, preview::settlement_plan),
        input,
    }
}

/// `{name: minor}` maps of the scenarios as `[{user_id, amount}]`.
fn entries(code: &str, map: &Value) -> Value {
    let map = map.as_object().expect("a map of minor units");
    map.iter()
        .map(|(user, minor)| {
            json!({"user_id": user, "amount": fmt(code, minor.as_i64().expect("minor units"))})
        })
        .collect()
}

fn scenario_cases() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/scenarios.json");
    let text = std::fs::read_to_string(&path).expect("core/tests/scenarios.json is readable");
    let scenarios: Value = serde_json::from_str(&text).expect("scenarios parse");
    let mut cases = Vec::new();
    let list = |key: &str| scenarios[key].as_array().expect("a list").clone();

    for mut s in list("allocation")
        .into_iter()
        .chain(list("invalid_expenses"))
    {
        let default_split = json!({"type": "equal"});
        let split = s.get("split").cloned().unwrap_or(default_split);
        let named: Vec<Value> = match &split["members"] {
            Value::Array(m) => m.clone(),
            _ => split["shares"]
                .as_array()
                .map(|shares| shares.iter().map(|x| x["user_id"].clone()).collect())
                .unwrap_or_default(),
        };
        let members = if named.is_empty() {
            vec![json!("a"), json!("b")]
        } else {
            named
        };
        let object = s.as_object_mut().expect("a scenario object");
        object.insert("split".into(), split);
        if !object.contains_key("payers") {
            object.insert("paid_by".into(), members[0].clone());
        }
        object.insert("members".into(), Value::Array(members));
        cases.push(allocate_case(s));
    }

    for s in list("ledgers") {
        let code = s["currency"].as_str().expect("a currency");
        let expenses: Vec<Value> = s["expenses"]
            .as_array()
            .expect("expenses")
            .iter()
            .map(|e| {
                json!({"currency": code, "payers": entries(code, &e["payers"]),
                       "shares": entries(code, &e["shares"])})
            })
            .collect();
        let settlements: Vec<Value> = s["settlements"]
            .as_array()
            .expect("settlements")
            .iter()
            .map(|t| {
                json!({"from_user": t["from"], "to_user": t["to"], "currency": code,
                       "amount": fmt(code, t["amount"].as_i64().expect("minor units"))})
            })
            .collect();
        let case = balances_case(json!({"expenses": expenses, "settlements": settlements}));
        if let Some(balances) = case.expected.get("ok") {
            cases.push(plan_case(balances.clone()));
        }
        cases.push(case);
    }

    for s in list("plans") {
        let members: Vec<Value> = s["nets_minor"]
            .as_object()
            .expect("nets")
            .iter()
            .map(|(user, minor)| {
                json!({"user_id": user, "net": fmt("EUR", minor.as_i64().expect("minor units"))})
            })
            .collect();
        cases.push(plan_case(
            json!({"balances": [{"currency": "EUR", "members": members}]}),
        ));
    }
    cases
}

/// An amount text: usually right, sometimes refused in one of the ways people get it wrong.
fn random_amount(rng: &mut Rng, code: &str, minor: i64) -> Value {
    match rng.range(1, 40) {
        1 => json!(format!("{}5", fmt(code, minor))), // one decimal too many (or 10× for JPY)
        2 => json!("0"),
        3 => json!(format!("-{}", fmt(code, minor))),
        4 => json!("12,50"),
        5 => json!("1000000000001"),
        6 => json!(minor), // a number: malformed
        7 => Value::Null,  // malformed: amount is required
        _ => json!(fmt(code, minor)),
    }
}

fn random_allocate(rng: &mut Rng, n: usize) -> Value {
    let code = *rng.pick(CURRENCIES);
    let size = rng.size(1, 8);
    let members = rng.members(size);
    let minor = if rng.chance(10) {
        rng.range(1, 5)
    } else {
        rng.range(1, 2_000_000)
    };
    let amount = random_amount(rng, code, minor);
    let count = rng.size(1, members.len());
    let named = &members[..count];
    let mut split = match rng.range(1, 4) {
        1 if rng.chance(40) => json!({"type": "equal"}),
        1 => json!({"type": "equal", "members": named}),
        2 => {
            let mut parts = rng.partition(minor, count);
            if rng.chance(10) {
                parts[0] += 1;
            }
            let shares: Vec<Value> = named
                .iter()
                .zip(parts)
                .map(|(m, p)| json!({"user_id": m, "amount": fmt(code, p)}))
                .collect();
            json!({"type": "exact", "shares": shares})
        }
        3 => {
            let mut parts = rng.partition(10_000, count);
            if rng.chance(10) {
                parts[0] += 1;
            }
            let shares: Vec<Value> = named
                .iter()
                .zip(parts)
                .map(|(m, p)| json!({"user_id": m, "percent": fmt("EUR", p)}))
                .collect();
            json!({"type": "percent", "shares": shares})
        }
        _ => {
            let shares: Vec<Value> = named
                .iter()
                .map(|m| {
                    let weight = match rng.range(1, 12) {
                        1 => "1.5".to_owned(),
                        2 => "0".to_owned(),
                        3 => "0.000001".to_owned(),
                        w => w.to_string(),
                    };
                    json!({"user_id": m, "weight": weight})
                })
                .collect();
            json!({"type": "shares", "shares": shares})
        }
    };
    if rng.chance(5) {
        split["shares"] = json!("everyone"); // malformed
    }
    let mut input = json!({
        "id": format!("expense-{n}-{}", rng.next()),
        "members": members,
        "amount": amount,
        "currency": code,
        "split": split,
        "description": "ignored",
    });
    // Booked in another currency: valid rates, and rates or group currencies that are refused.
    if rng.chance(20) {
        let rate = *rng.pick(&[
            "0.92", "157.3", "0.0061", "3.2467", "1", "0.000001", "0", "1e3",
        ]);
        input["exchange_rate"] = json!(rate);
        input["group_currency"] = json!(*rng.pick(&["EUR", "JPY", "KWD", "USD", "XYZ"]));
        if rng.chance(10) {
            input["group_currency"] = Value::Null; // required with a rate
        }
    }
    // Income allocates like an expense; an unknown kind is malformed.
    match rng.range(1, 10) {
        1 => input["kind"] = json!("income"),
        2 => input["kind"] = json!("expense"),
        3 if rng.chance(20) => input["kind"] = json!("gift"),
        _ => {}
    }
    match rng.range(1, 20) {
        1 => {} // neither: refused
        2 => input["currency"] = json!(*rng.pick(&["XYZ", "eur", "", "JPY"])),
        3 => input["currency"] = Value::Null, // required here
        4 => {
            input["paid_by"] = json!(members[0]);
            input["payers"] = json!([{"user_id": members[0], "amount": fmt(code, minor)}]);
        }
        5..=9 => {
            let payers = rng.size(1, 3).min(members.len());
            let mut parts = rng.partition(minor, payers);
            if rng.chance(10) {
                parts[0] += 1;
            }
            let list: Vec<Value> = members
                .iter()
                .zip(parts)
                .map(|(m, p)| json!({"user_id": m, "amount": fmt(code, p)}))
                .collect();
            input["payers"] = Value::Array(list);
            input["paid_by"] = Value::Null;
        }
        _ => input["paid_by"] = json!(rng.pick(&members)),
    }
    // Malformed: a required field missing, or of the wrong type.
    match rng.range(1, 30) {
        1 => {
            input.as_object_mut().expect("an object").remove("split");
        }
        2 => input["members"] = json!("ana"),
        3 => input["id"] = json!(7),
        _ => {}
    }
    input
}

fn random_ledger(rng: &mut Rng) -> Value {
    let size = rng.size(2, 12);
    let members = rng.members(size);
    let currencies: Vec<&str> = (0..rng.range(1, 3))
        .map(|_| *rng.pick(CURRENCIES))
        .collect();
    let mut expenses = Vec::new();
    for _ in 0..rng.range(0, 40) {
        let code = *rng.pick(&currencies);
        let minor = rng.range(1, 500_000);
        let mut list = |count: i64, total: i64| -> Vec<Value> {
            let who = rng.members(usize::try_from(count).expect("small"));
            let who: Vec<&String> = who.iter().filter(|m| members.contains(m)).collect();
            let who = if who.is_empty() {
                vec![&members[0]]
            } else {
                who
            };
            rng.partition(total, who.len())
                .into_iter()
                .zip(who)
                .map(|(p, m)| json!({"user_id": m, "amount": fmt(code, p)}))
                .collect()
        };
        let payers = list(1, minor);
        let shares = list(12, minor);
        let mut expense = json!({"currency": code, "payers": payers, "shares": shares});
        if rng.chance(25) {
            // Money received: every balance sign reversed.
            expense["kind"] = json!("income");
        }
        expenses.push(expense);
    }
    let mut settlements = Vec::new();
    for _ in 0..rng.range(0, 4) {
        let code = *rng.pick(&currencies);
        let from = rng.pick(&members).clone();
        let others: Vec<&String> = members.iter().filter(|m| **m != from).collect();
        let to = (*rng.pick(&others)).clone();
        let minor = rng.range(1, 100_000);
        settlements.push(json!({"from_user": from, "to_user": to, "currency": code,
                                "amount": fmt(code, minor)}));
    }
    let mut ledger = json!({"expenses": expenses, "settlements": settlements});
    // About a third of the ledgers carry one mistake: refused, or malformed.
    let expense = rng.size(0, 40);
    let target = ledger["expenses"]
        .get_mut(expense)
        .map(|e| &mut e["shares"][0]["amount"]);
    let code = *rng.pick(&currencies);
    match rng.range(1, 20) {
        1 => {
            if let Some(amount) = target {
                *amount = json!(format!("{}1", amount.as_str().unwrap_or("1")));
            }
        }
        2 => {
            if let Some(amount) = target {
                *amount = random_amount(rng, code, 1);
            }
        }
        3 => ledger["expenses"] = json!([{"currency": "NOPE", "payers": [], "shares": []}]),
        4 => {
            ledger["settlements"] =
                json!([{"from_user": "ana", "to_user": "ana", "amount": "1", "currency": code}]);
        }
        5 => {
            ledger["settlements"] =
                json!([{"from_user": "ana", "to_user": "ben", "amount": "-1", "currency": code}]);
        }
        6 => ledger["settlements"] = json!([{"from_user": "ana", "to_user": "ben", "amount": "1"}]),
        7 => {
            ledger["expenses"] =
                json!([{"currency": code, "payers": {"ana": "1.00"}, "shares": []}]);
        }
        8 => {
            ledger["settlements"] =
                json!([{"from_user": 1, "to_user": "ana", "amount": "1", "currency": code}]);
        }
        _ => {}
    }
    ledger
}

fn random_nets(rng: &mut Rng) -> Value {
    let blocks: Vec<Value> = (0..rng.range(1, 2))
        .map(|_| {
            let code = *rng.pick(CURRENCIES);
            // Mostly small enough for the exact planner; some above its limit.
            let count = if rng.chance(15) {
                rng.range(21, 28)
            } else {
                rng.range(1, 12)
            };
            let members = rng.members(usize::try_from(count).expect("small"));
            let mut nets: Vec<i64> = members
                .iter()
                .map(|_| match rng.range(1, 6) {
                    1 => 0,
                    2 => rng.range(-3, 3) * 1000, // equal magnitudes that cancel in pairs
                    _ => rng.range(-100_000, 100_000),
                })
                .collect();
            let sum: i64 = nets.iter().sum();
            if let Some(last) = nets.last_mut() {
                *last -= sum;
                if rng.chance(5) {
                    *last += 1;
                }
            }
            let mut members: Vec<Value> = members
                .iter()
                .zip(nets)
                .map(|(m, net)| json!({"user_id": m, "net": fmt(code, net)}))
                .collect();
            match rng.range(1, 25) {
                1 => members[0]["net"] = json!("0.0001"),
                2 => members[0]["net"] = json!("ten"),
                3 => return json!({"currency": "EURO", "members": members}),
                _ => {}
            }
            json!({"currency": code, "members": members})
        })
        .collect();
    json!({"balances": blocks})
}

fn random_cases() -> Vec<Case> {
    let mut rng = Rng(0x5EED_5917_1ED6_E500);
    let mut cases = Vec::new();
    for n in 0..RANDOM_CASES {
        cases.push(allocate_case(random_allocate(&mut rng, n)));
        let ledger = balances_case(random_ledger(&mut rng));
        // The page's path: the balances of a ledger go straight back into the planner.
        if let Some(balances) = ledger.expected.get("ok") {
            cases.push(plan_case(balances.clone()));
        }
        cases.push(ledger);
        cases.push(plan_case(random_nets(&mut rng)));
    }
    cases
}

/// How many cases of `function` core answered with `kind` (`"ok"`, or an error code).
fn count(cases: &[Case], function: &str, kind: &str) -> usize {
    cases
        .iter()
        .filter(|c| c.function == function)
        .filter(|c| match kind {
            "ok" => c.expected.get("ok").is_some(),
            code => c.expected["error"]["code"] == code,
        })
        .count()
}

#[test]
#[ignore = "needs the Node module from scripts/build-wasm: run scripts/test-wasm"]
fn module_answers_exactly_as_core() {
    let module = std::env::var_os("SPLITLEDGER_WASM_NODE")
        .map(PathBuf::from)
        .expect("SPLITLEDGER_WASM_NODE names the node/ folder built by scripts/build-wasm");
    let mut cases = scenario_cases();
    cases.extend(random_cases());

    // The random cases must exercise every outcome of every function, or parity proves little.
    for function in ["allocate", "balances", "settlementPlan"] {
        for kind in ["ok", VALIDATION_FAILED, BAD_REQUEST] {
            if function == "settlementPlan" && kind == BAD_REQUEST {
                continue; // the planner's inputs are generated well-formed
            }
            let n = count(&cases, function, kind);
            assert!(n >= 10, "only {n} {function} cases end in {kind}");
        }
    }

    let file = std::env::temp_dir().join(format!("splitledger-parity-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&cases).expect("cases serialize"))
        .expect("cases file is writable");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity.mjs");
    let output = Command::new("node")
        .arg(&script)
        .arg(&module)
        .arg(&file)
        .output()
        .expect("node runs");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    assert!(
        output.status.success(),
        "the module differs from core:\n{stdout}{stderr}"
    );
    assert!(
        stdout.contains(&format!("{} cases identical", cases.len())),
        "node did not compare every case:\n{stdout}"
    );
}
