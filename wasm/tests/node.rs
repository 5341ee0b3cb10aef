//! The module as JavaScript sees it, run under Node by wasm-bindgen-test-runner:
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!  cargo test -p splitledger-wasm --target wasm32-unknown-unknown` (scripts/test-wasm).
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, JSON, Object, Reflect};
use splitledger_wasm::{allocate, balances, settlement_plan};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

/// A JS value from JSON text, as a page would build it.
fn js(json: &str) -> JsValue {
    JSON::parse(json).expect("test JSON parses")
}

/// The JSON text of a JS value, with sorted keys so key order does not matter.
fn json(value: &JsValue) -> String {
    let text: String = JSON::stringify(value).expect("value stringifies").into();
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("JSON from JS parses");
    parsed.to_string()
}

/// Asserts that `actual` is `expected` (JSON text), compared as JSON.
fn assert_json(actual: &JsValue, expected: &str) {
    let expected: serde_json::Value = serde_json::from_str(expected).expect("expected parses");
    assert_eq!(json(actual), expected.to_string());
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).expect("property readable")
}

/// Walks a value and fails on anything the JSON shapes do not allow: `undefined`, numbers
/// (amounts travel as strings), `Map`s and objects that are not plain.
fn assert_plain_json(value: &JsValue, path: &str) {
    assert!(!value.is_undefined(), "{path} is undefined");
    assert!(value.as_f64().is_none(), "{path} is a number: {value:?}");
    assert!(!value.is_instance_of::<js_sys::Map>(), "{path} is a Map");
    if Array::is_array(value) {
        for (i, item) in Array::from(value).iter().enumerate() {
            assert_plain_json(&item, &format!("{path}[{i}]"));
        }
    } else if value.is_object() {
        let plain = Object::get_prototype_of(&Object::new());
        assert!(
            Object::get_prototype_of(value) == plain,
            "{path} is not a plain object"
        );
        for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
            let key: String = key.as_string().expect("keys are strings");
            assert_plain_json(&get(value, &key), &format!("{path}.{key}"));
        }
    }
}

/// The error a call threw: its `code`, its `errors` as JSON, and its message.
fn thrown(result: Result<JsValue, JsValue>) -> (String, String, String) {
    let error = result.expect_err("the call throws");
    assert!(error.is_instance_of::<js_sys::Error>(), "throws an Error");
    let code = get(&error, "code").as_string().expect("code is a string");
    let errors = get(&error, "errors");
    assert!(Array::is_array(&errors), "errors is an array");
    assert_plain_json(&errors, "errors");
    let message: String = error.unchecked_ref::<js_sys::Error>().message().into();
    (code, json(&errors), message)
}

#[wasm_bindgen_test]
fn allocate_splits_equally_without_losing_a_cent() {
    let out = allocate(js(
        r#"{"id": "e1", "members": ["a", "b", "c"], "amount": "100.00", "currency": "EUR",
            "paid_by": "a", "split": {"type": "equal"}, "description": "dinner"}"#,
    ))
    .expect("a valid expense allocates");
    assert_plain_json(&out, "out");
    assert_json(
        &get(&out, "payers"),
        r#"[{"user_id": "a", "amount": "100.00"}]"#,
    );
    let shares = Array::from(&get(&out, "shares"));
    assert_eq!(shares.length(), 3);
    let mut amounts: Vec<String> = shares
        .iter()
        .map(|s| get(&s, "amount").as_string().expect("amount is a string"))
        .collect();
    amounts.sort();
    assert_eq!(amounts, ["33.33", "33.33", "33.34"]);
}

#[wasm_bindgen_test]
fn allocate_takes_null_for_absent_fields() {
    let out = allocate(js(
        r#"{"id": "e2", "members": ["a", "b"], "amount": "10", "currency": "EUR",
            "paid_by": null, "payers": [{"user_id": "a", "amount": "4"}, {"user_id": "b", "amount": "6"}],
            "split": {"type": "equal", "members": null}}"#,
    ))
    .expect("null is as good as absent");
    assert_json(
        &out,
        r#"{"payers": [{"user_id": "a", "amount": "4.00"}, {"user_id": "b", "amount": "6.00"}],
            "shares": [{"user_id": "a", "amount": "5.00"}, {"user_id": "b", "amount": "5.00"}]}"#,
    );
}

#[wasm_bindgen_test]
fn allocate_refuses_a_fraction_of_a_cent() {
    let (code, errors, message) = thrown(allocate(js(
        r#"{"id": "e3", "members": ["a"], "amount": "1.005", "currency": "EUR",
            "paid_by": "a", "split": {"type": "equal"}}"#,
    )));
    assert_eq!(code, "validation_failed");
    let errors: serde_json::Value = serde_json::from_str(&errors).expect("errors parse");
    assert_eq!(errors[0]["field"], "amount");
    assert_eq!(errors[0]["code"], "amount_too_precise");
    assert!(message.starts_with("amount: "), "{message}");
}

#[wasm_bindgen_test]
fn allocate_reports_every_field_error() {
    let (code, errors, _) = thrown(allocate(js(
        r#"{"id": "e4", "members": ["a", "b"], "amount": "10.00", "currency": "EUR", "paid_by": "a",
            "split": {"type": "percent", "shares": [{"user_id": "a", "percent": "50"},
                                                    {"user_id": "b", "percent": "49.99"}]}}"#,
    )));
    assert_eq!(code, "validation_failed");
    assert!(errors.contains("\"field\":\"split"), "{errors}");
}

#[wasm_bindgen_test]
fn malformed_input_is_a_bad_request() {
    for input in [
        r#"{"id": "e5", "members": ["a"], "amount": 10, "currency": "EUR", "paid_by": "a", "split": {"type": "equal"}}"#,
        r#"{"id": "e5", "members": ["a"], "currency": "EUR", "paid_by": "a", "split": {"type": "equal"}}"#,
        r#"{"id": "e5", "members": ["a"], "amount": "1", "currency": "EUR", "paid_by": "a", "split": {"type": "thirds"}}"#,
        "null",
        "42",
    ] {
        let (code, errors, message) = thrown(allocate(js(input)));
        assert_eq!(code, "bad_request", "{input}");
        assert_eq!(errors, "[]");
        assert!(message.starts_with("malformed input: "), "{message}");
    }
    let (code, _, _) = thrown(balances(JsValue::UNDEFINED));
    assert_eq!(code, "bad_request");
    let (code, _, _) = thrown(settlement_plan(js(r#"{"balances": "none"}"#)));
    assert_eq!(code, "bad_request");
}

const TRICOUNT: &str = r#"{
  "expenses": [
    {"currency": "EUR", "payers": [{"user_id": "A", "amount": "20.00"}],
     "shares": [{"user_id": "B", "amount": "20.00"}]},
    {"currency": "EUR", "payers": [{"user_id": "B", "amount": "30.00"}],
     "shares": [{"user_id": "A", "amount": "10.00"}, {"user_id": "B", "amount": "10.00"},
                {"user_id": "C", "amount": "10.00"}]}
  ],
  "settlements": [{"from_user": "C", "to_user": "B", "amount": "1", "currency": "EUR"}]
}"#;

#[wasm_bindgen_test]
fn balances_show_paid_owed_sent_received_and_net() {
    let out = balances(js(TRICOUNT)).expect("a valid ledger balances");
    assert_plain_json(&out, "out");
    assert_json(
        &out,
        r#"{"balances": [{"currency": "EUR", "members": [
          {"user_id": "A", "paid": "20.00", "owed": "10.00", "sent": "0.00", "received": "0.00", "converted": "0.00", "net": "10.00"},
          {"user_id": "B", "paid": "30.00", "owed": "30.00", "sent": "0.00", "received": "1.00", "converted": "0.00", "net": "-1.00"},
          {"user_id": "C", "paid": "0.00", "owed": "10.00", "sent": "1.00", "received": "0.00", "converted": "0.00", "net": "-9.00"}
        ]}]}"#,
    );
}

#[wasm_bindgen_test]
fn balances_take_an_empty_ledger() {
    assert_json(&balances(js("{}")).expect("empty"), r#"{"balances": []}"#);
}

#[wasm_bindgen_test]
fn balances_refuse_an_expense_that_does_not_add_up() {
    let (code, errors, _) = thrown(balances(js(
        r#"{"expenses": [{"currency": "EUR", "payers": [{"user_id": "a", "amount": "5"}],
                          "shares": [{"user_id": "b", "amount": "4"}]}]}"#,
    )));
    assert_eq!(code, "validation_failed");
    let errors: serde_json::Value = serde_json::from_str(&errors).expect("errors parse");
    assert_eq!(errors[0]["field"], "expenses[0]");
    assert_eq!(errors[0]["code"], "sum_mismatch");
}

#[wasm_bindgen_test]
fn settlement_plan_takes_the_output_of_balances() {
    let nets = balances(js(TRICOUNT)).expect("balances");
    let plan = settlement_plan(nets).expect("balanced nets plan");
    assert_plain_json(&plan, "plan");
    assert_eq!(get(&plan, "optimal"), JsValue::TRUE);
    let transfers = Array::from(&get(&plan, "transfers"));
    assert_eq!(transfers.length(), 2);
    for t in transfers.iter() {
        assert_eq!(get(&t, "to").as_string().as_deref(), Some("A"));
        assert_eq!(get(&t, "currency").as_string().as_deref(), Some("EUR"));
    }
}

#[wasm_bindgen_test]
fn settlement_plan_is_minimal_where_greedy_is_not() {
    let plan = settlement_plan(js(r#"{"balances": [{"currency": "EUR", "members": [
          {"user_id": "A", "net": "-0.08"}, {"user_id": "B", "net": "0.06"},
          {"user_id": "C", "net": "-0.02"}, {"user_id": "D", "net": "0.03"},
          {"user_id": "E", "net": "0.04"}, {"user_id": "F", "net": "-0.03"}]}]}"#))
    .expect("balanced nets plan");
    assert_eq!(Array::from(&get(&plan, "transfers")).length(), 4);
}

#[wasm_bindgen_test]
fn settlement_plan_refuses_unbalanced_nets() {
    let (code, errors, message) = thrown(settlement_plan(js(
        r#"{"balances": [{"currency": "EUR", "members": [
          {"user_id": "A", "net": "1.00"}, {"user_id": "B", "net": "-0.99"}]}]}"#,
    )));
    assert_eq!(code, "validation_failed");
    assert_json(
        &js(&errors),
        r#"[{"field": "balances[0]", "code": "nets_unbalanced",
             "message": "the nets of a currency must add up to zero"}]"#,
    );
    assert_eq!(
        message,
        "balances[0]: the nets of a currency must add up to zero"
    );
}

#[wasm_bindgen_test]
fn settlement_plan_takes_back_nets_beyond_one_amount() {
    // A paid three maximum-size KWD expenses for B and two for C: nets of 3 and 2 × 10^12
    // dinars, beyond the 10^12 bound of one amount, which the module used to refuse.
    let expense = |sharer: &str| {
        format!(
            r#"{{"currency": "KWD", "payers": [{{"user_id": "A", "amount": "1000000000000.000"}}],
                 "shares": [{{"user_id": "{sharer}", "amount": "1000000000000.000"}}]}}"#
        )
    };
    let expenses: Vec<String> = ["B", "B", "B", "C", "C"]
        .iter()
        .map(|s| expense(s))
        .collect();
    let nets =
        balances(js(&format!(r#"{{"expenses": [{}]}}"#, expenses.join(",")))).expect("balances");
    let plan = settlement_plan(nets).expect("the nets balances produced plan");
    assert_plain_json(&plan, "plan");
    assert_json(
        &plan,
        r#"{"optimal": true, "transfers": [
             {"from": "B", "to": "A", "amount": "3000000000000.000", "currency": "KWD"},
             {"from": "C", "to": "A", "amount": "2000000000000.000", "currency": "KWD"}]}"#,
    );
}

#[wasm_bindgen_test]
fn settlement_plan_takes_nets_up_to_64_bits_and_refuses_beyond() {
    let plan = settlement_plan(js(r#"{"balances": [{"currency": "JPY", "members": [
          {"user_id": "A", "net": "-9223372036854775808"},
          {"user_id": "B", "net": "9223372036854775807"},
          {"user_id": "C", "net": "1"}]}]}"#))
    .expect("i64 extremes plan");
    assert_json(
        &get(&plan, "transfers"),
        r#"[{"from": "A", "to": "B", "amount": "9223372036854775807", "currency": "JPY"},
            {"from": "A", "to": "C", "amount": "1", "currency": "JPY"}]"#,
    );
    let (code, errors, _) = thrown(settlement_plan(js(
        r#"{"balances": [{"currency": "JPY", "members": [
          {"user_id": "A", "net": "-9223372036854775809"},
          {"user_id": "B", "net": "9223372036854775809"}]}]}"#,
    )));
    assert_eq!(code, "validation_failed");
    let errors: serde_json::Value = serde_json::from_str(&errors).expect("errors parse");
    assert_eq!(errors[0]["field"], "balances[0].members[0].net");
    assert_eq!(errors[0]["code"], "amount_too_large");
}
