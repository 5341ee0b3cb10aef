//! Each format from a sample written after the tool's real exporter (the upstream file is
//! named in each sample's parser and in `docs/ARCHITECTURE.md`), with nets worked out by
//! hand, and bad rows refused with their row numbers.

use std::collections::BTreeMap;

use super::*;

fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR")
}

/// The file's nets by person name, in minor units.
fn nets_by_name(file: &ImportFile) -> BTreeMap<String, i64> {
    file.nets()
        .expect("nets fit")
        .into_iter()
        .map(|((_, p), net)| (file.people[p].name.clone(), net))
        .collect()
}

fn expected(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

fn expenses(file: &ImportFile) -> Vec<&ImportExpense> {
    file.entries
        .iter()
        .filter_map(|e| match e {
            ImportEntry::Expense(x) => Some(x),
            _ => None,
        })
        .collect()
}

fn settlements(file: &ImportFile) -> Vec<&ImportSettlement> {
    file.entries
        .iter()
        .filter_map(|e| match e {
            ImportEntry::Settlement(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn fields(errors: &ValidationErrors) -> Vec<&str> {
    errors.errors().iter().map(|e| e.field.as_str()).collect()
}

/// Every expense's payers and shares add up to its amount.
fn assert_balanced(file: &ImportFile) {
    for e in expenses(file) {
        let paid: i64 = e.payers.iter().map(|p| p.amount).sum();
        let owed: i64 = e.shares.iter().map(|p| p.amount).sum();
        assert_eq!((paid, owed), (e.amount, e.amount), "row {}", e.row);
    }
}

#[test]
fn splitwise_rows_become_entries_with_exactly_the_files_nets() {
    let file = parse(
        Format::Splitwise,
        include_bytes!("../../testdata/import/splitwise.csv"),
        eur(),
    )
    .expect("the sample parses");
    let names: Vec<&str> = file.people.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Zoé Martin", "Bob", "Chloé"]);
    // Zoé: 20 − 33.33 − 5 − 10 + 30 = 1.67; Bob: −10 + 66.67 + 5 + 5 + 30 = 96.67;
    // Chloé: −10 − 33.34 + 0 + 5 − 60 = −98.34 (the Total balance row says the same).
    let want = expected(&[("Zoé Martin", 167), ("Bob", 9667), ("Chloé", -9834)]);
    assert_eq!(nets_by_name(&file), want);
    let stated: BTreeMap<String, i64> = file
        .stated
        .iter()
        .map(|((_, p), v)| (file.people[*p].name.clone(), *v))
        .collect();
    assert_eq!(stated, want);
    assert_eq!(file.skipped, 1, "the all-zero taxi row moves nothing");
    assert_balanced(&file);

    let ex = expenses(&file);
    assert_eq!(ex.len(), 4);
    // One payer with a cost covering their cell: the whole cost, shares as Splitwise had them.
    let dinner = ex
        .iter()
        .find(|e| e.description == "Dîner")
        .expect("dinner");
    assert_eq!(dinner.amount, 10000);
    assert_eq!(
        dinner.payers,
        vec![Part {
            person: 1,
            amount: 10000
        }]
    );
    let mut shares: Vec<(usize, i64)> =
        dinner.shares.iter().map(|p| (p.person, p.amount)).collect();
    shares.sort();
    assert_eq!(shares, vec![(0, 3333), (1, 3333), (2, 3334)]);
    assert_eq!(dinner.category.as_deref(), Some("Dining out"));
    // A negative cost is income: Zoé received 20 and keeps her share of 10.
    let refund = ex
        .iter()
        .find(|e| e.description == "Remboursement billet")
        .expect("refund");
    assert_eq!(refund.kind, ExpenseKind::Income);
    assert_eq!(
        refund.payers,
        vec![Part {
            person: 0,
            amount: 2000
        }]
    );
    // Two people lent: the amount is what they advanced.
    let hotel = ex
        .iter()
        .find(|e| e.description == "Hôtel, deux nuits")
        .expect("hotel");
    assert_eq!(hotel.amount, 6000);
    assert_eq!(hotel.payers.len(), 2);

    let pay = settlements(&file);
    assert_eq!(pay.len(), 1);
    assert_eq!(
        (pay[0].from, pay[0].to, pay[0].amount),
        (1, 0, 500),
        "Bob paid Zoé back 5.00"
    );
    assert_eq!(pay[0].row, 5, "rows are the file's lines");
}

#[test]
fn splitwise_bad_rows_are_refused_with_their_line() {
    let text = "Date,Description,Category,Cost,Currency,Ana,Bob\n\
                2024-01-01,ok,General,10.00,EUR,5.00,-5.00\n\
                2024-01-02,bad amount,General,10.00,EUR,5.00,abc\n\
                2024-01-03,not zero-sum,General,10.00,EUR,5.00,-4.00\n\
                2024-13-04,bad date,General,10.00,EUR,5.00,-5.00\n\
                2024-01-05,bad currency,General,10.00,XYZ,5.00,-5.00\n\
                2024-01-06,too precise,General,10.00,EUR,5.001,-5.001\n";
    let errors = parse(Format::Splitwise, text.as_bytes(), eur()).expect_err("refused");
    assert_eq!(
        fields(&errors),
        [
            "rows[3].Bob",
            "rows[4]",
            "rows[5].Date",
            "rows[6].Currency",
            "rows[7].Ana",
            "rows[7].Bob"
        ]
    );
    assert!(errors.errors()[1].message.starts_with("row 4:"));
}

#[test]
fn splitwise_total_row_must_match_and_header_must_exist() {
    let text = "Date,Description,Category,Cost,Currency,Ana,Bob\n\
                2024-01-01,ok,General,10.00,EUR,5.00,-5.00\n\n\
                ,Total balance,,,EUR,4.00,-4.00\n";
    let errors = parse(Format::Splitwise, text.as_bytes(), eur()).expect_err("refused");
    assert_eq!(fields(&errors), ["rows[4]"]);
    let errors =
        parse(Format::Splitwise, b"Datum,Beschreibung\n1,2\n", eur()).expect_err("refused");
    assert_eq!(errors.errors()[0].code, "import_header");
}

#[test]
fn ihatemoney_bills_are_shared_by_weight_exactly() {
    let file = parse(
        Format::Ihatemoney,
        include_bytes!("../../testdata/import/ihatemoney.json"),
        eur(),
    )
    .expect("the sample parses");
    // Weights Zoé 2, Bob 1, Chloé 1. Gîte 100.00 by Zoé: 50/25/25 → Zoé +50, Bob −25, Chloé −25.
    // Courses 10.01 by Bob: 1001 × 2/4 = 500.5, × 1/4 = 250.25 twice; floors 500/250/250,
    // the one unit left goes to the largest remainder (Zoé): 501/250/250.
    // → Zoé 44.99, Bob −17.49, Chloé −27.50. Chloé reimburses Zoé 20.00 → Zoé 24.99,
    // Chloé −7.50. Caution rendue (income 30.00, no currency: the group's) received by Bob,
    // shared Bob/Chloé 15/15 → Bob −32.49, Chloé +7.50.
    assert_eq!(
        nets_by_name(&file),
        expected(&[("Zoé", 2499), ("Bob", -3249), ("Chloé", 750)])
    );
    assert_balanced(&file);
    let courses = expenses(&file)
        .into_iter()
        .find(|e| e.description == "Courses")
        .expect("courses");
    let mut shares: Vec<(usize, i64)> = courses
        .shares
        .iter()
        .map(|p| (p.person, p.amount))
        .collect();
    shares.sort();
    assert_eq!(shares, vec![(0, 501), (1, 250), (2, 250)]);
    let pay = settlements(&file);
    assert_eq!((pay[0].from, pay[0].to, pay[0].amount), (2, 0, 2000));
    let income = expenses(&file)
        .into_iter()
        .find(|e| e.kind == ExpenseKind::Income)
        .expect("income");
    assert_eq!((income.currency, income.amount), (eur(), 3000));
}

#[test]
fn ihatemoney_bad_bills_are_refused_with_their_number() {
    let text = r#"[
      {"what": "ok", "amount": 10.0, "date": "2024-01-01", "payer_name": "A", "payer_weight": 1.0, "owers": ["A"]},
      {"what": "float noise", "amount": 10.005, "date": "2024-01-01", "payer_name": "A", "payer_weight": 1.0, "owers": ["A"]},
      {"what": "no owers", "amount": 10.0, "date": "2024-01-01", "payer_name": "A", "payer_weight": 1.0},
      {"what": "bad date", "amount": 10.0, "date": "01/02/2024", "payer_name": "A", "payer_weight": 1.0, "owers": ["A"]}
    ]"#;
    let errors = parse(Format::Ihatemoney, text.as_bytes(), eur()).expect_err("refused");
    assert_eq!(
        fields(&errors),
        ["rows[3]", "rows[2].amount", "rows[4].date"]
    );
}

#[test]
fn spliit_split_modes_and_reimbursements() {
    let file = parse(
        Format::Spliit,
        include_bytes!("../../testdata/import/spliit.json"),
        eur(),
    )
    .expect("the sample parses");
    // Café 12.00 by Zoé, evenly: Zoé +8, Bob −4, Chloé −4. Musée 9.00 by Bob, shares 2:1
    // Zoé/Bob: Zoé −6, Bob +6. Vélo 10.00 by Chloé, 25 %/75 % Zoé/Chloé: Zoé −2.50,
    // Chloé +2.50. Boulangerie 5.00 by Zoé, exactly 1.23 Bob, 3.77 Chloé. Bob reimburses
    // Zoé 3.00. Zoé 8 − 6 − 2.5 + 5 − 3 = 1.50; Bob −4 + 6 − 1.23 + 3 = 3.77;
    // Chloé −4 + 2.5 − 3.77 = −5.27.
    assert_eq!(
        nets_by_name(&file),
        expected(&[("Zoé", 150), ("Bob", 377), ("Chloé", -527)])
    );
    assert_balanced(&file);
    let ex = expenses(&file);
    assert_eq!(ex.len(), 4);
    assert_eq!(ex[0].category.as_deref(), Some("Dining Out"));
    assert_eq!(ex[1].notes.as_deref(), Some("deux entrées pour Zoé"));
    assert_eq!(settlements(&file).len(), 1);
}

#[test]
fn spliit_bad_expenses_are_refused_with_their_number() {
    let text = r#"{"currencyCode": "EUR", "participants": [{"id": "a", "name": "Ana"}], "expenses": [
      {"expenseDate": "2024-01-01T00:00:00.000Z", "title": "ok", "amount": 100, "paidById": "a", "paidFor": [{"participantId": "a", "shares": 1}], "splitMode": "EVENLY"},
      {"expenseDate": "2024-01-01T00:00:00.000Z", "title": "who", "amount": 100, "paidById": "z", "paidFor": [{"participantId": "a", "shares": 1}], "splitMode": "EVENLY"},
      {"expenseDate": "2024-01-01T00:00:00.000Z", "title": "sum", "amount": 100, "paidById": "a", "paidFor": [{"participantId": "a", "shares": 99}], "splitMode": "BY_AMOUNT"},
      {"expenseDate": "2024-01-01T00:00:00.000Z", "title": "float", "amount": 1.5, "paidById": "a", "paidFor": [{"participantId": "a", "shares": 1}], "splitMode": "EVENLY"}
    ]}"#;
    let errors = parse(Format::Spliit, text.as_bytes(), eur()).expect_err("refused");
    assert_eq!(
        fields(&errors),
        ["rows[2].paidById", "rows[3].paidFor", "rows[4].amount"]
    );
}

#[test]
fn cospend_blocks_weights_categories_and_reimbursements() {
    let file = parse(
        Format::Cospend,
        include_bytes!("../../testdata/import/cospend.csv"),
        eur(),
    )
    .expect("the sample parses");
    // Weights Zoé 2, Bob 1, Chloé 1. Épicerie 40 by Zoé: 20/10/10 → Zoé +20, Bob −10,
    // Chloé −10. Essence 10.01 by Bob: 5.01/2.50/2.50 (the leftover unit to Zoé's larger
    // remainder) → Zoé 14.99, Bob −2.49, Chloé −12.50. Chloé reimburses Zoé 15 (category
    // −11) → Zoé −0.01, Chloé 2.50.
    assert_eq!(
        nets_by_name(&file),
        expected(&[("Zoé", -1), ("Bob", -249), ("Chloé", 250)])
    );
    assert_balanced(&file);
    let ex = expenses(&file);
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].category.as_deref(), Some("Grocery"));
    assert_eq!(ex[0].payment_method.as_deref(), Some("Carte"));
    assert_eq!(ex[0].notes.as_deref(), Some("Pain et fromage à partager"));
    assert_eq!(ex[0].occurred_on, date("2024-04-01").expect("date"));
    assert_eq!(ex[1].category.as_deref(), Some("Voiture"));
    assert_eq!(ex[1].payment_method.as_deref(), Some("Espèces"));
    let pay = settlements(&file);
    assert_eq!((pay[0].from, pay[0].to, pay[0].amount), (2, 0, 1500));
}

#[test]
fn cospend_bad_rows_are_refused_with_their_line() {
    let text = "what,amount,date,timestamp,payer_name,payer_weight,payer_active,owers\n\
                ok,10,2024-01-01,,Ana,1,1,Ana\n\
                bad amount,ten,2024-01-01,,Ana,1,1,Ana\n\
                no owers,10,2024-01-01,,Ana,1,1,\n\
                bad date,10,2024/01/01,,Ana,1,1,Ana\n";
    let errors = parse(Format::Cospend, text.as_bytes(), eur()).expect_err("refused");
    let mut got = fields(&errors);
    got.sort();
    assert_eq!(got, ["rows[3].amount", "rows[4].owers", "rows[5].date"]);
}

#[test]
fn splitledger_export_rows_are_taken_as_they_are() {
    let file = parse(
        Format::Splitledger,
        include_bytes!("../../testdata/import/splitledger.json"),
        eur(),
    )
    .expect("the sample parses");
    // Électricité 100.01 by Zoé, 50.01/50.00 → Zoé +50, Bob −50. Canapé sold (income 50)
    // received by Bob, 25/25 → Zoé +25, Bob −25. Bob pays Zoé 10 → Zoé 65, Bob −65.
    assert_eq!(
        nets_by_name(&file),
        expected(&[("Zoé", 6500), ("Bob", -6500)])
    );
    let ex = expenses(&file);
    assert_eq!(ex[0].description, "Électricité", "oldest first");
    assert_eq!(
        ex[0].shares,
        vec![
            Part {
                person: 0,
                amount: 5001
            },
            Part {
                person: 1,
                amount: 5000
            }
        ]
    );
    assert_eq!(ex[1].kind, ExpenseKind::Income);
}

#[test]
fn splitledger_rows_that_do_not_add_up_are_refused() {
    let text = r#"{"members": [{"user_id": "u1", "display_name": "A"}], "expenses": [
      {"description": "x", "amount": "10.00", "currency": "EUR", "payers": [{"user_id": "u1", "amount": "10.00"}], "shares": [{"user_id": "u1", "amount": "9.00"}], "occurred_on": "2024-01-01"}
    ], "settlements": []}"#;
    let errors = parse(Format::Splitledger, text.as_bytes(), eur()).expect_err("refused");
    assert_eq!(fields(&errors), ["rows[1].shares"]);
}

#[test]
fn fifty_thousand_rows_parse() {
    let mut text = String::from("Date,Description,Category,Cost,Currency,Ana,Bob,Cléo\n");
    for i in 0..50_000 {
        text.push_str(&format!(
            "2024-01-01,row {i},General,3.00,EUR,2.00,-1.00,-1.00\n"
        ));
    }
    let file = parse(Format::Splitwise, text.as_bytes(), eur()).expect("parses");
    assert_eq!(file.entries.len(), 50_000);
    assert_eq!(
        nets_by_name(&file),
        expected(&[
            ("Ana", 10_000_000),
            ("Bob", -5_000_000),
            ("Cléo", -5_000_000)
        ])
    );
}

#[test]
fn formats_have_their_api_names() {
    for f in [
        Format::Splitwise,
        Format::Ihatemoney,
        Format::Spliit,
        Format::Cospend,
        Format::Splitledger,
    ] {
        assert_eq!(f.as_str().parse::<Format>().expect("round trip"), f);
    }
    assert!("excel".parse::<Format>().is_err());
}
