use std::fmt;

use proptest::prelude::*;
use rstest::rstest;

use super::*;
use crate::split::largest_remainder;

fn cur(code: &str) -> Currency {
    Currency::parse(code).expect("known currency")
}

fn rate(text: &str) -> Rate {
    Rate::parse(text).expect("valid rate")
}

fn keyed(rows: &[(&str, i64)]) -> Vec<(String, i64)> {
    rows.iter().map(|(k, a)| (k.to_string(), *a)).collect()
}

fn net(user_id: &str, from_amount: i64, to_amount: i64) -> ConvertedNet<String> {
    ConvertedNet {
        user_id: user_id.to_string(),
        from_amount,
        to_amount,
    }
}

// ---------------------------------------------------------------- rates

#[rstest]
#[case("1.5", 15, 1, "1.5")]
#[case("0.0091", 91, 4, "0.0091")]
#[case("1234567.89012", 123_456_789_012, 5, "1234567.89012")]
#[case("1.50", 150, 2, "1.50")]
#[case("1.0", 10, 1, "1.0")]
#[case("1", 1, 0, "1")]
#[case("007.5", 75, 1, "7.5")]
#[case("00.25", 25, 2, "0.25")]
#[case("999999999999", 999_999_999_999, 0, "999999999999")]
#[case("0.000000000001", 1, 12, "0.000000000001")]
#[case("0.100000000000", 100_000_000_000, 12, "0.100000000000")]
#[case(
    "0.00000000000000000000000000000000000000000007",
    7,
    44,
    "0.00000000000000000000000000000000000000000007"
)]
fn parses_rates(
    #[case] text: &str,
    #[case] mantissa: u64,
    #[case] scale: u32,
    #[case] shown: &str,
) {
    let parsed = rate(text);
    assert_eq!((parsed.mantissa(), parsed.scale()), (mantissa, scale));
    assert_eq!(parsed.to_string(), shown);
    assert_eq!(Rate::parse(shown), Ok(parsed), "the shown text parses back");
}

#[rstest]
#[case("0", MoneyError::RateNotPositive)]
#[case("0.000", MoneyError::RateNotPositive)]
#[case("-0", MoneyError::RateNotPositive)]
#[case("-1", MoneyError::RateNotPositive)]
#[case("-1.5", MoneyError::RateNotPositive)]
#[case("-1234567890123", MoneyError::RateNotPositive)]
#[case("1234567890123", MoneyError::RateTooPrecise)]
#[case("1000000000000", MoneyError::RateTooPrecise)]
#[case("1.000000000000", MoneyError::RateTooPrecise)]
#[case("0.0000001234567890123", MoneyError::RateTooPrecise)]
#[case("1e3", MoneyError::InvalidRate)]
#[case("1E3", MoneyError::InvalidRate)]
#[case(" 1", MoneyError::InvalidRate)]
#[case("1 ", MoneyError::InvalidRate)]
#[case("1 000", MoneyError::InvalidRate)]
#[case("+1", MoneyError::InvalidRate)]
#[case(".5", MoneyError::InvalidRate)]
#[case("1.", MoneyError::InvalidRate)]
#[case("-.5", MoneyError::InvalidRate)]
#[case("", MoneyError::InvalidRate)]
#[case("-", MoneyError::InvalidRate)]
#[case("--1", MoneyError::InvalidRate)]
#[case("1.2.3", MoneyError::InvalidRate)]
#[case("1,5", MoneyError::InvalidRate)]
#[case("١", MoneyError::InvalidRate)]
#[case("NaN", MoneyError::InvalidRate)]
#[case("inf", MoneyError::InvalidRate)]
#[case("0x10", MoneyError::InvalidRate)]
fn refuses_rates(#[case] text: &str, #[case] error: MoneyError) {
    assert_eq!(Rate::parse(text), Err(error.clone()));
    assert_eq!(text.parse::<Rate>(), Err(error));
}

#[test]
fn rate_errors_have_stable_codes() {
    assert_eq!(MoneyError::InvalidRate.code(), "invalid_rate");
    assert_eq!(MoneyError::RateNotPositive.code(), "rate_not_positive");
    assert_eq!(MoneyError::RateTooPrecise.code(), "rate_too_precise");
    assert_eq!(
        MoneyError::RateTooPrecise.at("exchange_rate").code,
        "rate_too_precise"
    );
    assert_eq!(ConvertError::TooLarge.code(), "amount_too_large");
    assert_eq!(ConvertError::Unbalanced.code(), "conversion_unbalanced");
}

#[test]
fn rates_travel_as_strings() {
    let parsed: Rate = serde_json::from_str("\"1.50\"").expect("a rate string");
    assert_eq!(parsed, rate("1.50"));
    assert_eq!(
        serde_json::to_string(&parsed).expect("serialises"),
        "\"1.50\""
    );
    assert!(serde_json::from_str::<Rate>("1.5").is_err(), "not a number");
    assert!(serde_json::from_str::<Rate>("\"0\"").is_err());
    assert!(serde_json::from_str::<Rate>("\"1e3\"").is_err());
    // Equality follows the text; the value converts the same.
    assert_ne!(rate("1.5"), rate("1.50"));
    assert_eq!(
        convert(333, cur("EUR"), cur("USD"), rate("1.5")),
        convert(333, cur("EUR"), cur("USD"), rate("1.50"))
    );
    assert_eq!(
        format!("{:>6}|{:?}", rate("0.5"), rate("0.5")),
        "   0.5|Rate(0.5)"
    );
}

// ---------------------------------------------------------------- one amount

#[rstest]
// Half to even at the target's minor unit: 0.125 → 0.12, 0.135 → 0.14, and their negatives.
#[case(125, "KWD", "EUR", "1", Ok(12))]
#[case(135, "KWD", "EUR", "1", Ok(14))]
#[case(115, "KWD", "EUR", "1", Ok(12))]
#[case(126, "KWD", "EUR", "1", Ok(13))]
#[case(-125, "KWD", "EUR", "1", Ok(-12))]
#[case(-135, "KWD", "EUR", "1", Ok(-14))]
#[case(-126, "KWD", "EUR", "1", Ok(-13))]
// JPY (0 decimals) to EUR (2) and back.
#[case(1000, "JPY", "EUR", "0.0061", Ok(610))]
#[case(1234, "JPY", "EUR", "0.0061", Ok(753))]
#[case(100, "EUR", "JPY", "163.85", Ok(164))]
#[case(250, "EUR", "JPY", "1", Ok(2))]
#[case(350, "EUR", "JPY", "1", Ok(4))]
#[case(1, "EUR", "JPY", "50", Ok(0))]
#[case(1, "EUR", "JPY", "150", Ok(2))]
// KWD (3 decimals) both ways.
#[case(1000, "EUR", "KWD", "0.33333", Ok(3333))]
#[case(1, "KWD", "JPY", "500", Ok(0))]
#[case(3, "KWD", "JPY", "500", Ok(2))]
#[case(1, "JPY", "KWD", "0.0025", Ok(2))]
#[case(1, "JPY", "KWD", "0.0035", Ok(4))]
// Four decimals (CLF) to none: 1.2345 CLF × 2 = 2.469.
#[case(12_345, "CLF", "JPY", "2", Ok(2))]
// Twelve significant digits.
#[case(100, "EUR", "USD", "1234567.89012", Ok(123_456_789))]
#[case(50, "EUR", "USD", "1234567.89012", Ok(61_728_395))]
#[case(100, "USD", "EUR", "0.923456789012", Ok(92))]
#[case(999_999, "USD", "EUR", "0.923456789012", Ok(923_456))]
// Tiny rates, including one far past what a 128-bit divisor could hold.
#[case(
    1_000_000_000_000_000_000,
    "JPY",
    "EUR",
    "0.000000000001",
    Ok(100_000_000)
)]
#[case(
    i64::MAX,
    "JPY",
    "EUR",
    "0.000000000000000000000000000000000000000000001",
    Ok(0)
)]
#[case(-i64::MAX, "JPY", "EUR", "0.000000000000000000000000000000000000000000001", Ok(0))]
#[case(
    i64::MIN,
    "KWD",
    "JPY",
    "0.00000000000000000000000000000000000000000000000001",
    Ok(0)
)]
// The largest numerator (i64::MAX × a 12-digit mantissa, about 9.2 × 10^30) over a divisor
// past 10^38: still below half a unit either way.
#[case(
    i64::MAX,
    "JPY",
    "EUR",
    "0.0000000000000000000000000000000000000000999999999999",
    Ok(0)
)]
#[case(
    i64::MIN,
    "JPY",
    "EUR",
    "0.0000000000000000000000000000000000000000999999999999",
    Ok(0)
)]
// The same numerator over exactly 10^31 and 10^32: 0.92… rounds up, −0.92… down, 0.092… to 0.
#[case(i64::MAX, "JPY", "JPY", "0.0000000000000000000999999999999", Ok(1))]
#[case(i64::MIN, "JPY", "JPY", "0.0000000000000000000999999999999", Ok(-1))]
#[case(i64::MAX, "JPY", "JPY", "0.00000000000000000000999999999999", Ok(0))]
// Huge rates: exact while the result fits in i64, refused past it.
#[case(1000, "JPY", "EUR", "999999999999", Ok(99_999_999_999_900_000))]
#[case(
    1_000_000_000_000_000_000,
    "EUR",
    "USD",
    "999999999999",
    Err(ConvertError::TooLarge)
)]
#[case(1_000_000, "JPY", "KWD", "999999999999", Err(ConvertError::TooLarge))]
#[case(i64::MIN, "EUR", "USD", "1", Ok(i64::MIN))]
#[case(i64::MIN, "EUR", "USD", "2", Err(ConvertError::TooLarge))]
#[case(i64::MAX, "EUR", "USD", "1.0", Ok(i64::MAX))]
#[case(0, "EUR", "JPY", "163.85", Ok(0))]
fn converts_one_amount(
    #[case] amount: i64,
    #[case] from: &str,
    #[case] to: &str,
    #[case] rate_text: &str,
    #[case] expected: Result<i64, ConvertError>,
) {
    assert_eq!(
        convert(amount, cur(from), cur(to), rate(rate_text)),
        expected
    );
}

// ---------------------------------------------------------------- rows of an expense

#[rstest]
// 1 + 1 JPY at 0.5: a total of exactly 1, one leftover unit, a tie: the rank decides
// ("expense-1" ranks b, c, a; "expense-3" ranks a, b, c).
#[case("expense-1", &[("a", 1), ("b", 1)], "JPY", "JPY", "0.5", 1, &[("a", 0), ("b", 1)])]
#[case("expense-3", &[("a", 1), ("b", 1)], "JPY", "JPY", "0.5", 1, &[("a", 1), ("b", 0)])]
// The total (2.5) rounds DOWN to 2 = the sum of the floors: no leftover, nothing taken away.
#[case("expense-1", &[("a", 3), ("b", 2)], "JPY", "JPY", "0.5", 2, &[("a", 1), ("b", 1)])]
// Five halves: 2.5 rounds down to 2; the two lowest ranks get the units.
#[case("expense-3", &[("a", 1), ("b", 1), ("c", 1), ("d", 1), ("e", 1)], "JPY", "JPY", "0.5", 2,
    &[("a", 1), ("b", 1), ("c", 0), ("d", 0), ("e", 0)])]
// EUR → JPY: 1638.5 + 545.6205 + 1092.8795 = 3277; the two largest fractions get the units.
#[case("expense-1", &[("a", 1000), ("b", 333), ("c", 667)], "EUR", "JPY", "163.85", 3277,
    &[("a", 1638), ("b", 546), ("c", 1093)])]
// KWD → EUR: 0.32 + 0.64 + 320 cents = 320.96 → 321; the unit goes to the 0.64.
#[case("expense-1", &[("a", 1), ("b", 2), ("c", 1000)], "KWD", "EUR", "3.2", 321,
    &[("a", 0), ("b", 1), ("c", 320)])]
// JPY → EUR with a zero row (kept, in the order given) and a row that converts to nothing.
#[case("expense-1", &[("b", 1000), ("a", 0), ("c", 1)], "JPY", "EUR", "0.0061", 611,
    &[("b", 610), ("a", 0), ("c", 1)])]
#[case("expense-1", &[("a", 1), ("b", 1)], "JPY", "EUR", "0.001", 0, &[("a", 0), ("b", 0)])]
#[case("expense-1", &[], "JPY", "EUR", "0.001", 0, &[])]
fn converts_rows(
    #[case] seed: &str,
    #[case] rows: &[(&str, i64)],
    #[case] from: &str,
    #[case] to: &str,
    #[case] rate_text: &str,
    #[case] total: i64,
    #[case] expected: &[(&str, i64)],
) {
    let converted =
        convert_rows(seed, &keyed(rows), cur(from), cur(to), rate(rate_text)).expect("converts");
    assert_eq!(converted.total, total);
    assert_eq!(converted.rows, keyed(expected));
    assert_eq!(converted.rows.iter().map(|(_, a)| a).sum::<i64>(), total);
}

#[test]
fn equal_fractions_go_by_rank_then_by_member() {
    // Three half cents: the total 1.5 rounds (half to even) to 2, so two of three tied rows
    // get a unit, and the seed decides which ones, not the order given or the member order.
    let rows = keyed(&[("c", 1), ("a", 1), ("b", 1)]);
    let (eur, usd, half) = (cur("EUR"), cur("USD"), rate("0.5"));
    let expense_1 = convert_rows("expense-1", &rows, eur, usd, half).expect("converts");
    assert_eq!(expense_1.rows, keyed(&[("c", 1), ("a", 0), ("b", 1)]));
    let expense_2 = convert_rows("expense-2", &rows, eur, usd, half).expect("converts");
    assert_eq!(expense_2.rows, keyed(&[("c", 1), ("a", 1), ("b", 0)]));

    // Members whose text (and so rank) is the same fall back to the member order.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
    struct Alike(u8);
    impl fmt::Display for Alike {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("alike")
        }
    }
    let rows = [(Alike(3), 1), (Alike(1), 1), (Alike(2), 1)];
    let converted = convert_rows("expense-1", &rows, eur, usd, half).expect("converts");
    assert_eq!(
        converted.rows,
        vec![(Alike(3), 0), (Alike(1), 1), (Alike(2), 1)]
    );
}

#[test]
fn ties_are_broken_as_allocation_breaks_them() {
    // n rows of one cent at 0.5 tie; the rows' total n/2 rounds half to even, and those units
    // must land exactly where `largest_remainder` puts the same number of units among equal
    // weights with the same seed.
    let members: Vec<String> = (0..7).map(|i| format!("member-{i}")).collect();
    for seed in ["e-1", "e-2", "e-3", "9f0c7a1e-5d2b-4c1e-8f00-000000000001"] {
        for n in 1..=members.len() {
            let rows: Vec<(String, i64)> = members[..n].iter().map(|m| (m.clone(), 1)).collect();
            let converted =
                convert_rows(seed, &rows, cur("EUR"), cur("USD"), rate("0.5")).expect("converts");
            let weights: Vec<(String, i128)> =
                members[..n].iter().map(|m| (m.clone(), 1)).collect();
            let allocated = largest_remainder(seed, converted.total, &weights);
            let mut ours: Vec<(String, i64)> = converted
                .rows
                .into_iter()
                .filter(|(_, a)| *a != 0)
                .collect();
            ours.sort();
            let theirs: Vec<(String, i64)> = allocated
                .into_iter()
                .map(|p| (p.user_id, p.amount.get()))
                .collect();
            assert_eq!(ours, theirs, "seed {seed}, {n} rows");
        }
    }
}

#[test]
fn rows_refuse_sums_past_64_bits() {
    let rows = keyed(&[("a", i64::MAX), ("b", 1)]);
    assert_eq!(
        convert_rows("e", &rows, cur("EUR"), cur("USD"), rate("0.5")),
        Err(ConvertError::TooLarge)
    );
    let rows = keyed(&[("a", 1_000_000_000_000_000_000)]);
    assert_eq!(
        convert_rows("e", &rows, cur("JPY"), cur("KWD"), rate("999999999999")),
        Err(ConvertError::TooLarge)
    );
    // The largest sum that fits still converts exactly.
    let rows = keyed(&[("a", i64::MAX - 1), ("b", 1)]);
    let converted = convert_rows("e", &rows, cur("EUR"), cur("USD"), rate("1")).expect("converts");
    assert_eq!(converted.total, i64::MAX);
    assert_eq!(converted.rows, rows);
}

// ---------------------------------------------------------------- nets of a conversion

#[test]
fn converts_nets_hand_computed() {
    let (eur, jpy) = (cur("EUR"), cur("JPY"));
    // 1638.5, −545.6205, −1092.8795: floors 1638, −546, −1093 add up to −1; the unit goes to
    // the largest fraction (0.5). d has no net and no row; rows are sorted by member.
    let nets = keyed(&[("c", -667), ("d", 0), ("a", 1000), ("b", -333)]);
    assert_eq!(
        convert_nets("conversion-1", &nets, eur, jpy, rate("163.85")),
        Ok(vec![
            net("a", 1000, 1639),
            net("b", -333, -546),
            net("c", -667, -1093)
        ])
    );
    // ±0.5 cent: floors 0 and −1, both fractions 0.5, one unit: the rank decides
    // ("conversion-1" ranks a first, "conversion-2" ranks b first).
    let nets = keyed(&[("a", 1), ("b", -1)]);
    assert_eq!(
        convert_nets("conversion-1", &nets, jpy, eur, rate("0.005")),
        Ok(vec![net("a", 1, 1), net("b", -1, -1)])
    );
    assert_eq!(
        convert_nets("conversion-2", &nets, jpy, eur, rate("0.005")),
        Ok(vec![net("a", 1, 0), net("b", -1, 0)])
    );
    // KWD → EUR at 3.2: 3.2, −0.32, −2.88 cents; floors 3, −1, −3 (sum −1); the unit goes to
    // b (fraction 0.68 beats 0.2 and 0.12).
    let nets = keyed(&[("a", 10), ("b", -1), ("c", -9)]);
    assert_eq!(
        convert_nets("conversion-1", &nets, cur("KWD"), eur, rate("3.2")),
        Ok(vec![net("a", 10, 3), net("b", -1, 0), net("c", -9, -3)])
    );
    // Exact conversions get no leftover at all.
    let nets = keyed(&[("a", 300), ("b", -100), ("c", -200)]);
    assert_eq!(
        convert_nets("conversion-1", &nets, eur, jpy, rate("2")),
        Ok(vec![
            net("a", 300, 6),
            net("b", -100, -2),
            net("c", -200, -4)
        ])
    );
    assert_eq!(
        convert_nets::<String>("c", &[], eur, jpy, rate("2")),
        Ok(vec![])
    );
}

#[test]
fn nets_at_the_edges() {
    let (eur, usd, jpy) = (cur("EUR"), cur("USD"), cur("JPY"));
    assert_eq!(
        convert_nets("c", &keyed(&[("a", 1), ("b", 0)]), eur, usd, rate("1")),
        Err(ConvertError::Unbalanced)
    );
    assert_eq!(
        convert_nets(
            "c",
            &keyed(&[
                ("a", i64::MAX),
                ("b", i64::MAX),
                ("c", i64::MIN),
                ("d", i64::MIN),
                ("e", 2)
            ]),
            eur,
            usd,
            rate("1")
        ),
        Ok(vec![
            net("a", i64::MAX, i64::MAX),
            net("b", i64::MAX, i64::MAX),
            net("c", i64::MIN, i64::MIN),
            net("d", i64::MIN, i64::MIN),
            net("e", 2, 2),
        ])
    );
    let big = 1_000_000_000_000_000_000;
    assert_eq!(
        convert_nets(
            "c",
            &keyed(&[("a", big), ("b", -big)]),
            eur,
            usd,
            rate("999999999999")
        ),
        Err(ConvertError::TooLarge)
    );
    // A rate far below what a 128-bit divisor holds: −tiny floors to −1 with the larger
    // fraction, so it takes the one unit and both come out zero, rows kept.
    let tiny = rate("0.000000000000000000000000000000000000000000001");
    assert_eq!(
        convert_nets(
            "c",
            &keyed(&[("a", i64::MAX), ("b", -i64::MAX)]),
            jpy,
            eur,
            tiny
        ),
        Ok(vec![net("a", i64::MAX, 0), net("b", -i64::MAX, 0)])
    );
}

// ---------------------------------------------------------------- properties

const CODES: [&str; 6] = ["JPY", "EUR", "KWD", "USD", "BHD", "CLF"];

/// The exact converted value as a fraction `num / den`, computed independently of the module
/// (rates here keep `den` within i128).
fn exact_fraction(amount: i64, from: Currency, to: Currency, r: Rate) -> (i128, i128) {
    let num = i128::from(amount) * i128::from(r.mantissa()) * 10_i128.pow(to.minor_units());
    let den = 10_i128.pow(r.scale() + from.minor_units());
    (num, den)
}

/// `value` lies strictly within one unit of `num / den`.
fn within_one_unit(value: i64, (num, den): (i128, i128)) -> bool {
    (i128::from(value) * den - num).abs() < den
}

fn arb_rate() -> impl Strategy<Value = Rate> {
    (1_u64..1_000_000_000_000, 0_u32..=20).prop_map(|(mantissa, scale)| Rate { mantissa, scale })
}

fn arb_pair() -> impl Strategy<Value = (Currency, Currency)> {
    (0..CODES.len(), 0..CODES.len()).prop_map(|(a, b)| (cur(CODES[a]), cur(CODES[b])))
}

proptest! {
    #[test]
    fn rates_round_trip_through_their_text(r in arb_rate(), zeros in 0_usize..3) {
        let shown = r.to_string();
        prop_assert_eq!(Rate::parse(&shown), Ok(r));
        // Leading zeros are dropped; nothing else changes.
        let padded = format!("{}{shown}", "0".repeat(zeros));
        prop_assert_eq!(Rate::parse(&padded).map(|p| p.to_string()), Ok(shown));
    }

    #[test]
    fn one_amount_rounds_half_to_even(
        amount in -1_000_000_000_000_000_000_i64..=1_000_000_000_000_000_000,
        (from, to) in arb_pair(),
        r in arb_rate(),
    ) {
        let (num, den) = exact_fraction(amount, from, to, r);
        match convert(amount, from, to, r) {
            Ok(value) => {
                let twice_error = 2 * (i128::from(value) * den - num);
                prop_assert!(twice_error.abs() <= den, "more than half a unit off");
                if twice_error.abs() == den {
                    prop_assert_eq!(value.rem_euclid(2), 0, "a tie goes to the even unit");
                }
            }
            Err(e) => {
                prop_assert_eq!(e, ConvertError::TooLarge);
                prop_assert!((num / den).abs() >= i128::from(i64::MAX));
            }
        }
    }

    #[test]
    fn rows_add_up_to_the_converted_total(
        amounts in prop::collection::vec(0_i64..=100_000_000_000_000_000, 0..9),
        (from, to) in arb_pair(),
        r in arb_rate(),
        seed in "[a-z0-9-]{0,12}",
    ) {
        let rows: Vec<(String, i64)> =
            amounts.iter().enumerate().map(|(i, a)| (format!("m{i}"), *a)).collect();
        let sum: i64 = amounts.iter().sum();
        match convert_rows(&seed, &rows, from, to, r) {
            Ok(converted) => {
                prop_assert_eq!(Ok(converted.total), convert(sum, from, to, r));
                prop_assert_eq!(
                    converted.rows.iter().map(|(_, a)| i128::from(*a)).sum::<i128>(),
                    i128::from(converted.total)
                );
                prop_assert_eq!(converted.rows.len(), rows.len());
                for ((key, amount), (out_key, out)) in rows.iter().zip(&converted.rows) {
                    prop_assert_eq!(key, out_key);
                    prop_assert!(*out >= 0);
                    prop_assert!(within_one_unit(*out, exact_fraction(*amount, from, to, r)));
                }
            }
            Err(e) => {
                prop_assert_eq!(e, ConvertError::TooLarge);
                prop_assert!(convert(sum, from, to, r).is_err());
            }
        }
    }

    #[test]
    fn one_row_is_the_converted_amount(
        amount in 0_i64..=1_000_000_000_000_000_000,
        (from, to) in arb_pair(),
        r in arb_rate(),
    ) {
        let rows = vec![("only".to_string(), amount)];
        let converted = convert_rows("e", &rows, from, to, r);
        prop_assert_eq!(
            converted.map(|c| c.rows),
            convert(amount, from, to, r).map(|v| vec![("only".to_string(), v)])
        );
    }

    #[test]
    fn nets_add_up_to_zero(
        mut nets in prop::collection::vec(-100_000_000_000_000_000_i64..=100_000_000_000_000_000, 1..9),
        (from, to) in arb_pair(),
        r in arb_rate(),
        seed in "[a-z0-9-]{0,12}",
    ) {
        let balance: i64 = -nets.iter().sum::<i64>();
        nets.push(balance);
        let given: Vec<(String, i64)> =
            nets.iter().enumerate().map(|(i, n)| (format!("m{i}"), *n)).collect();
        match convert_nets(&seed, &given, from, to, r) {
            Ok(rows) => {
                prop_assert_eq!(rows.iter().map(|row| i128::from(row.to_amount)).sum::<i128>(), 0);
                let nonzero = given.iter().filter(|(_, n)| *n != 0).count();
                prop_assert_eq!(rows.len(), nonzero);
                prop_assert!(rows.windows(2).all(|w| w[0].user_id < w[1].user_id));
                for row in &rows {
                    let net = given.iter().find(|(k, _)| *k == row.user_id).map(|(_, n)| *n);
                    prop_assert_eq!(Some(row.from_amount), net);
                    prop_assert!(within_one_unit(
                        row.to_amount,
                        exact_fraction(row.from_amount, from, to, r)
                    ));
                }
                // The order the members are given in changes nothing.
                let mut reversed = given.clone();
                reversed.reverse();
                prop_assert_eq!(convert_nets(&seed, &reversed, from, to, r), Ok(rows));
            }
            Err(e) => {
                // Only a net whose conversion reaches the edge of i64 may be refused.
                prop_assert_eq!(e, ConvertError::TooLarge);
                let at_the_edge = given.iter().any(|(_, n)| {
                    let (num, den) = exact_fraction(*n, from, to, r);
                    (num / den).abs() >= i128::from(i64::MAX) - 1
                });
                prop_assert!(at_the_edge);
            }
        }
    }

    #[test]
    fn tiny_rates_round_everything_to_zero(
        mantissa in 1_u64..1_000_000_000_000,
        scale in 39_u32..=80,
        amount in any::<i64>(),
        (from, to) in arb_pair(),
        seed in "[a-z0-9-]{0,12}",
    ) {
        // Below 10^31 / 10^35 = 10^-4 of a unit in magnitude: every result is zero, however
        // far the divisor lies past what 128 bits hold.
        let r = Rate { mantissa, scale };
        prop_assert_eq!(convert(amount, from, to, r), Ok(0));
        let rows = vec![("a".to_string(), amount.saturating_abs() / 2), ("b".to_string(), 1)];
        let converted = convert_rows(&seed, &rows, from, to, r).map(|c| (c.total, c.rows));
        prop_assert_eq!(
            converted,
            Ok((0, vec![("a".to_string(), 0), ("b".to_string(), 0)]))
        );
        let nets = vec![("a".to_string(), amount / 2), ("b".to_string(), -(amount / 2))];
        let rows = convert_nets(&seed, &nets, from, to, r).map(|rows| {
            rows.into_iter().map(|row| row.to_amount).collect::<Vec<_>>()
        });
        let expected = if amount / 2 == 0 { vec![] } else { vec![0, 0] };
        prop_assert_eq!(rows, Ok(expected));
    }
}
