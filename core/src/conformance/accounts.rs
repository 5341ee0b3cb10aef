//! Accounts and sessions: sign-up, login, sessions and their expiry, profiles, password
//! changes and login throttling.

use std::time::Duration;

use time::OffsetDateTime;

use super::{Fixture, PASSWORD, assert_code, assert_field};
use crate::Storage;
use crate::domain::{Email, LoginFailures, User, UserId};
use crate::ledger::{ChangePassword, Error, SessionToken, SignUp, UpdateProfile};
use crate::money::Currency;

/// Sign up, log in, sessions, logout, expiry; refusals write nothing.
pub async fn accounts<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    assert_eq!(ann.email.as_str(), "ann@example.com");

    let dup = SignUp {
        email: "  ANN@Example.com ".into(),
        password: PASSWORD.into(),
        display_name: "Other".into(),
        invite_code: None,
    };
    assert_code(f.ledger.sign_up(dup).await, "email_taken");
    let bad = |email: &str, password: &str, name: &str| SignUp {
        email: email.into(),
        password: password.into(),
        display_name: name.into(),
        invite_code: None,
    };
    assert_field(
        f.ledger.sign_up(bad("not-an-email", PASSWORD, "X")).await,
        "email",
        "invalid_email",
    );
    assert_field(
        f.ledger.sign_up(bad("x@example.com", "short", "X")).await,
        "password",
        "password_length",
    );
    assert_field(
        f.ledger
            .sign_up(bad("x@example.com", &"p".repeat(129), "X"))
            .await,
        "password",
        "password_length",
    );
    assert_field(
        f.ledger.sign_up(bad("x@example.com", PASSWORD, "  ")).await,
        "display_name",
        "required",
    );
    // None of the refused sign-ups exists.
    assert_code(
        f.ledger.login("x@example.com", PASSWORD).await,
        "invalid_credentials",
    );

    let login = f.ledger.login("ANN@example.com ", PASSWORD).await.unwrap();
    assert_eq!(login.user.id, ann.id);
    assert_eq!(
        login.token.as_str().len(),
        43,
        "256 bits in URL-safe base64"
    );
    assert_eq!(
        f.ledger.resolve_session(&login.token).await.unwrap().id,
        ann.id
    );
    assert_code(
        f.ledger.login("ann@example.com", "wrong password").await,
        "invalid_credentials",
    );
    assert_code(
        f.ledger.login("nobody@example.com", PASSWORD).await,
        "invalid_credentials",
    );
    assert_code(
        f.ledger.resolve_session(&SessionToken::new("forged")).await,
        "unauthenticated",
    );

    f.ledger.logout(&login.token).await.unwrap();
    assert_code(
        f.ledger.resolve_session(&login.token).await,
        "unauthenticated",
    );
    assert_code(f.ledger.logout(&login.token).await, "unauthenticated");

    // A session for an account that does not exist is refused by the store.
    let ghost = User {
        id: UserId::random(),
        ..ann.clone()
    };
    assert_code(f.ledger.open_session(ghost).await, "not_found");

    let second = f.ledger.login("ann@example.com", PASSWORD).await.unwrap();
    f.clock
        .advance(f.ledger.config().session_ttl + Duration::from_secs(1));
    assert_code(
        f.ledger.resolve_session(&second.token).await,
        "unauthenticated",
    );
}

/// Profile edits and password changes (which revoke the other sessions).
pub async fn profile_and_password<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    f.user("bob").await;
    let updated = f
        .ledger
        .update_profile(
            ann.id,
            UpdateProfile {
                display_name: Some("Ann B.".into()),
                email: Some("Ann.B@Example.com".into()),
                default_currency: Some(Some("jpy".into())),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.display_name.as_str(), updated.email.as_str()),
        ("Ann B.", "ann.b@example.com")
    );
    assert_eq!(
        updated.default_currency,
        Some(Currency::parse("JPY").unwrap())
    );
    assert_eq!(f.ledger.me(ann.id).await.unwrap(), updated);
    let taken = UpdateProfile {
        email: Some("bob@example.com".into()),
        ..UpdateProfile::default()
    };
    assert_code(f.ledger.update_profile(ann.id, taken).await, "email_taken");
    let invalid = UpdateProfile {
        default_currency: Some(Some("XYZ".into())),
        ..UpdateProfile::default()
    };
    assert_field(
        f.ledger.update_profile(ann.id, invalid).await,
        "default_currency",
        "unknown_currency",
    );
    assert_eq!(
        f.ledger.me(ann.id).await.unwrap(),
        updated,
        "refused edits write nothing"
    );

    let phone = f.ledger.login("ann.b@example.com", PASSWORD).await.unwrap();
    let laptop = f.ledger.login("ann.b@example.com", PASSWORD).await.unwrap();
    let wrong = ChangePassword {
        current_password: "nope nope".into(),
        new_password: "new secret 1".into(),
    };
    assert_field(
        f.ledger
            .change_password(ann.id, Some(&laptop.token), wrong)
            .await,
        "current_password",
        "wrong_password",
    );
    let short = ChangePassword {
        current_password: PASSWORD.into(),
        new_password: "short".into(),
    };
    assert_field(
        f.ledger
            .change_password(ann.id, Some(&laptop.token), short)
            .await,
        "new_password",
        "password_length",
    );
    assert!(
        f.ledger.resolve_session(&phone.token).await.is_ok(),
        "refused changes revoke nothing"
    );

    let change = ChangePassword {
        current_password: PASSWORD.into(),
        new_password: "new secret 1".into(),
    };
    f.ledger
        .change_password(ann.id, Some(&laptop.token), change)
        .await
        .unwrap();
    assert_code(
        f.ledger.resolve_session(&phone.token).await,
        "unauthenticated",
    );
    assert_eq!(
        f.ledger.resolve_session(&laptop.token).await.unwrap().id,
        ann.id
    );
    assert_code(
        f.ledger.login("ann.b@example.com", PASSWORD).await,
        "invalid_credentials",
    );
    assert!(
        f.ledger
            .login("ann.b@example.com", "new secret 1")
            .await
            .is_ok()
    );
}

/// Repeated failures for one email are throttled, for right and wrong passwords alike.
pub async fn login_throttling<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    f.user("ann").await;
    let free = f.ledger.config().free_login_failures;
    for _ in 0..free {
        assert_code(
            f.ledger.login("ann@example.com", "wrong password").await,
            "invalid_credentials",
        );
    }
    // Past the free failures, every attempt waits, even with the right password, and the
    // wait doubles with each further failure.
    match f.ledger.login("ann@example.com", PASSWORD).await {
        Err(Error::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
        other => panic!("expected throttling, got {other:?}"),
    }
    f.clock.advance(Duration::from_secs(1));
    assert_code(
        f.ledger.login("ann@example.com", "wrong password").await,
        "invalid_credentials",
    );
    match f.ledger.login("ann@example.com", PASSWORD).await {
        Err(Error::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, 2),
        other => panic!("expected throttling, got {other:?}"),
    }
    // Unknown emails are throttled the same way (no account enumeration).
    for _ in 0..free {
        assert_code(
            f.ledger.login("ghost@example.com", "wrong password").await,
            "invalid_credentials",
        );
    }
    assert_code(
        f.ledger.login("ghost@example.com", "wrong password").await,
        "throttled",
    );
    // Another email is not affected.
    f.user("bob").await;
    assert!(f.ledger.login("bob@example.com", PASSWORD).await.is_ok());

    f.clock
        .advance(f.ledger.config().throttle_max + Duration::from_secs(1));
    assert!(f.ledger.login("ann@example.com", PASSWORD).await.is_ok());
    // Success cleared the record: the free failures are available again.
    assert_code(
        f.ledger.login("ann@example.com", "wrong password").await,
        "invalid_credentials",
    );
    assert!(f.ledger.login("ann@example.com", PASSWORD).await.is_ok());
}

/// A burst of concurrent wrong passwords for one email: exactly the free failures are
/// checked, every other attempt is throttled (the count is claimed before the check, not
/// written after it). The store's compare-and-swap refuses a stale expectation.
pub async fn login_burst<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    f.user("ann").await;
    let free = f.ledger.config().free_login_failures;
    let burst = 16;
    let tasks: Vec<_> = (0..burst)
        .map(|_| {
            let ledger = f.ledger.clone();
            tokio::spawn(async move { ledger.login("ann@example.com", "wrong password").await })
        })
        .collect();
    let (mut checked, mut throttled) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Err(Error::InvalidCredentials) => checked += 1,
            Err(Error::Throttled { .. }) => throttled += 1,
            other => panic!("expected 401 or 429, got {other:?}"),
        }
    }
    assert_eq!((checked, throttled), (free, burst - free));

    let storage = f.ledger.storage();
    let email = Email::parse("cas@example.com").unwrap();
    let none = LoginFailures::default();
    let at = OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
    let one = LoginFailures {
        count: 1,
        last_at: Some(at),
    };
    assert!(
        storage
            .swap_login_failures(&email, &none, &one)
            .await
            .unwrap()
    );
    assert!(
        !storage
            .swap_login_failures(&email, &none, &one)
            .await
            .unwrap(),
        "expected none, but one is stored"
    );
    let stored = storage.login_failures(&email).await.unwrap();
    assert_eq!(stored, one);
    let two = LoginFailures { count: 2, ..one };
    assert!(
        storage
            .swap_login_failures(&email, &one, &two)
            .await
            .unwrap()
    );
    assert!(
        !storage
            .swap_login_failures(&email, &one, &two)
            .await
            .unwrap()
    );
    assert_eq!(storage.login_failures(&email).await.unwrap(), two);
    assert!(
        !storage
            .swap_login_failures(&email, &one, &none)
            .await
            .unwrap()
    );
    assert!(
        storage
            .swap_login_failures(&email, &two, &none)
            .await
            .unwrap()
    );
    assert_eq!(storage.login_failures(&email).await.unwrap(), none);
    assert!(
        storage
            .swap_login_failures(&email, &none, &none)
            .await
            .unwrap()
    );
}
