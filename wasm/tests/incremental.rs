//! `balancesWith` (a server's balances plus a draft) and `balancesFromJson` (a ledger as JSON
//! text) as JavaScript sees them, under Node (scripts/test-wasm): each must answer exactly what
//! `balances` answers over the whole history, and refuse what it refuses with the same codes.
#![cfg(target_arch = "wasm32")]

use js_sys::{JSON, Reflect};
use splitledger_wasm::{balances, balances_from_json, balances_with};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

fn js(json: &str) -> JsValue {
    JSON::parse(json).expect("test JSON parses")
}

fn text(value: &JsValue) -> String {
    JSON::stringify(value).expect("value stringifies").into()
}

/// The `code` of the thrown Error and the `[field, code]` of each of its `errors`.
fn refusal(result: Result<JsValue, JsValue>) -> (String, Vec<(String, String)>) {
    let error = result.expect_err("the call throws");
    let get = |v: &JsValue, k: &str| Reflect::get(v, &k.into()).expect("readable");
    let code = get(&error, "code").as_string().expect("code is a string");
    let errors = js_sys::Array::from(&get(&error, "errors"))
        .iter()
        .map(|e| {
            let s = |k| get(&e, k).as_string().expect("a string");
            (s("field"), s("code"))
        })
        .collect();
    (code, errors)
}

const HISTORY: &str = r#"[
  {"currency": "EUR", "payers": [{"user_id": "A", "amount": "20.00"}],
   "shares": [{"user_id": "B", "amount": "20.00"}]},
  {"currency": "JPY", "payers": [{"user_id": "C", "amount": "999"}],
   "shares": [{"user_id": "A", "amount": "333"}, {"user_id": "C", "amount": "666"}]},
  {"kind": "income", "currency": "EUR", "payers": [{"user_id": "B", "amount": "7.01"}],
   "shares": [{"user_id": "A", "amount": "3.50"}, {"user_id": "B", "amount": "3.51"}]}
]"#;

const DRAFTS: &str = r#"[
  {"currency": "EUR", "payers": [{"user_id": "D", "amount": "30.00"}],
   "shares": [{"user_id": "A", "amount": "10.00"}, {"user_id": "B", "amount": "10.00"},
              {"user_id": "D", "amount": "10.00"}]},
  {"kind": "income", "currency": "KWD", "payers": [{"user_id": "A", "amount": "1.001"}],
   "shares": [{"user_id": "C", "amount": "1.001"}]}
]"#;

const SETTLEMENT: &str =
    r#"[{"from_user": "B", "to_user": "A", "amount": "5", "currency": "EUR"}]"#;

#[wasm_bindgen_test]
fn a_draft_on_known_balances_equals_the_whole_history() {
    let start = balances(js(&format!(
        r#"{{"expenses": {HISTORY}, "settlements": {SETTLEMENT}}}"#
    )))
    .expect("history");
    // New members (D), a new currency (KWD) and income, on top of what the server knows.
    let after = balances_with(start, js(&format!(r#"{{"expenses": {DRAFTS}}}"#))).expect("draft");
    let history: Vec<serde_json::Value> = serde_json::from_str(HISTORY).expect("parses");
    let drafts: Vec<serde_json::Value> = serde_json::from_str(DRAFTS).expect("parses");
    let whole = serde_json::json!({
        "expenses": history.into_iter().chain(drafts).collect::<Vec<_>>(),
        "settlements": serde_json::from_str::<serde_json::Value>(SETTLEMENT).expect("parses"),
    });
    let expected = balances(js(&whole.to_string())).expect("whole");
    assert_eq!(text(&after), text(&expected));
    assert!(text(&after).contains(r#""currency":"KWD""#));
}

#[wasm_bindgen_test]
fn the_servers_balances_with_display_names_are_a_starting_point() {
    let start = js(r#"{"balances": [{"currency": "EUR", "members": [
      {"user_id": "A", "display_name": "Ann", "paid": "-3.00", "owed": "1.00", "sent": "0.00",
       "received": "2.50", "converted": "0.00", "net": "-6.50"},
      {"user_id": "B", "display_name": "Ben", "paid": "0.00", "owed": "0.00", "sent": "2.50",
       "received": "0.00", "converted": "4.00", "net": "6.50"}]}]}"#);
    let after = balances_with(start, js(r#"{}"#)).expect("nothing added");
    assert_eq!(
        text(&after),
        r#"{"balances":[{"currency":"EUR","members":[{"user_id":"A","paid":"-3.00","owed":"1.00","sent":"0.00","received":"2.50","converted":"0.00","net":"-6.50"},{"user_id":"B","paid":"0.00","owed":"0.00","sent":"2.50","received":"0.00","converted":"4.00","net":"6.50"}]}]}"#
    );
}

#[wasm_bindgen_test]
fn a_starting_point_that_does_not_add_up_is_refused() {
    let start = js(r#"{"balances": [{"currency": "EUR", "members": [
      {"user_id": "A", "paid": "1.00", "owed": "0.00", "sent": "0.00", "received": "0.00",
       "converted": "0.00", "net": "2.00"},
      {"user_id": "A", "paid": "1.00", "owed": "0.00", "sent": "0.00", "received": "0.00",
       "converted": "0.00", "net": "1.00"},
      {"user_id": "B", "paid": "1.001", "owed": "0.00", "sent": "0.00", "received": "0.00",
       "converted": "0.00", "net": "1.00"}]}]}"#);
    let more = js(
        r#"{"expenses": [{"currency": "EUR", "payers": [{"user_id": "a", "amount": "5"}],
                      "shares": [{"user_id": "b", "amount": "4"}]}]}"#,
    );
    let (code, errors) = refusal(balances_with(start, more));
    assert_eq!(code, "validation_failed");
    let errors: Vec<(&str, &str)> = errors
        .iter()
        .map(|(f, c)| (f.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            ("balances[0].members[0].net", "net_mismatch"),
            ("balances[0].members[1].user_id", "duplicate_member"),
            ("balances[0].members[2].paid", "amount_too_precise"),
            ("expenses[0]", "sum_mismatch"),
        ]
    );
    let (code, _) = refusal(balances_with(js(r#"{"balances": 3}"#), js("{}")));
    assert_eq!(code, "bad_request");
    let (code, _) = refusal(balances_with(
        js(r#"{"balances": []}"#),
        js(r#"{"expenses": 1}"#),
    ));
    assert_eq!(code, "bad_request");
}

#[wasm_bindgen_test]
fn a_ledger_as_json_text_balances_as_the_objects_do() {
    let ledger = format!(r#"{{"expenses": {HISTORY}, "settlements": {SETTLEMENT}}}"#);
    let from_text = balances_from_json(ledger.as_str().into()).expect("text");
    let from_objects = balances(js(&ledger)).expect("objects");
    assert_eq!(text(&from_text), text(&from_objects));

    let (code, errors) = refusal(balances_from_json(
        r#"{"expenses": [{"currency": "EUR", "payers": [{"user_id": "a", "amount": "5"}],
            "shares": [{"user_id": "b", "amount": "4"}]}]}"#
            .into(),
    ));
    assert_eq!(code, "validation_failed");
    assert_eq!(errors, [("expenses[0]".into(), "sum_mismatch".into())]);
    for malformed in ["", "{", r#"{"expenses": "none"}"#, "[1]"] {
        let (code, errors) = refusal(balances_from_json(malformed.into()));
        assert_eq!(code, "bad_request", "{malformed}");
        assert!(errors.is_empty());
    }
}
