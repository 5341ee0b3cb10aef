//! OpenID Connect identities and the sign-up policy: finding a person by (issuer, subject),
//! linking by verified email only, logins under way taken once, and who may create an
//! account.

use std::time::Duration;

use super::{Fixture, PASSWORD, assert_code};
use crate::Storage;
use crate::ledger::{NewInvite, OidcClaims, OidcLoginStart, SignUp, SignupPolicy};

const ISSUER: &str = "https://id.example.com";

fn claims(subject: &str, email: Option<&str>, verified: bool) -> OidcClaims {
    OidcClaims {
        issuer: ISSUER.into(),
        subject: subject.into(),
        email: email.map(Into::into),
        email_verified: verified,
        name: Some(format!("Person {subject}")),
    }
}

fn start(state: &str) -> OidcLoginStart {
    OidcLoginStart {
        state: state.into(),
        provider: "example".into(),
        nonce: format!("nonce-{state}"),
        pkce_verifier: format!("verifier-{state}"),
        return_to: "/groups".into(),
        invite: Some("code".into()),
    }
}

/// New accounts from a provider, found again by (issuer, subject); linking by email only when
/// the provider verified it; a taken email refused without writing; no password login for an
/// account without a password.
pub async fn identities<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;

    let zoe = f
        .ledger
        .oidc_sign_in(claims("zoe", Some("Zoe@Example.com"), false), None)
        .await
        .unwrap();
    assert_eq!(zoe.email.as_str(), "zoe@example.com");
    assert_eq!(zoe.display_name, "Person zoe");
    let again = f
        .ledger
        .oidc_sign_in(claims("zoe", Some("changed@example.com"), true), None)
        .await
        .unwrap();
    assert_eq!(
        again.id, zoe.id,
        "found by subject, whatever the email says now"
    );
    assert_code(
        f.ledger.login("zoe@example.com", PASSWORD).await,
        "invalid_credentials",
    );
    assert_code(
        f.ledger.login("zoe@example.com", "!").await,
        "invalid_credentials",
    );

    // The same subject at another issuer is someone else.
    let other = OidcClaims {
        issuer: "https://other.example.org".into(),
        ..claims("zoe", Some("zoe2@example.com"), false)
    };
    assert_ne!(f.ledger.oidc_sign_in(other, None).await.unwrap().id, zoe.id);

    // An unverified email that is taken: refused, and nothing was linked or created.
    assert_code(
        f.ledger
            .oidc_sign_in(claims("mallory", Some("ANN@example.com"), false), None)
            .await,
        "email_taken",
    );
    let fresh = f
        .ledger
        .oidc_sign_in(claims("mallory", Some("mallory@example.com"), false), None)
        .await
        .unwrap();
    assert_ne!(fresh.id, ann.id);

    // A verified one links the existing account, which keeps its password.
    let linked = f
        .ledger
        .oidc_sign_in(claims("ann-at-idp", Some("ann@example.com"), true), None)
        .await
        .unwrap();
    assert_eq!(linked.id, ann.id);
    let by_identity = f
        .ledger
        .oidc_sign_in(claims("ann-at-idp", None, false), None)
        .await
        .unwrap();
    assert_eq!(by_identity.id, ann.id);
    assert_eq!(
        f.ledger
            .login("ann@example.com", PASSWORD)
            .await
            .unwrap()
            .user
            .id,
        ann.id
    );

    // No usable email, no account.
    assert_code(
        f.ledger
            .oidc_sign_in(claims("nomail", None, true), None)
            .await,
        "oidc_failed",
    );
    assert_code(
        f.ledger
            .oidc_sign_in(claims("nomail", Some("not an email"), true), None)
            .await,
        "oidc_failed",
    );

    // Two first logins of one person at once make one account.
    let (a, b) = tokio::join!(
        f.ledger
            .oidc_sign_in(claims("twin", Some("twin@example.com"), false), None),
        f.ledger
            .oidc_sign_in(claims("twin", Some("twin@example.com"), false), None),
    );
    assert_eq!(a.unwrap().id, b.unwrap().id);
}

/// A login under way is taken once (a replayed state is refused), keeps what it was started
/// with, and expires.
pub async fn pending_logins<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    f.ledger.start_oidc_login(start("s1")).await.unwrap();
    f.ledger.start_oidc_login(start("s2")).await.unwrap();
    let taken = f.ledger.take_oidc_login("s1").await.unwrap();
    assert_eq!(taken.provider, "example");
    assert_eq!(taken.nonce, "nonce-s1");
    assert_eq!(taken.pkce_verifier, "verifier-s1");
    assert_eq!(taken.return_to, "/groups");
    assert_eq!(taken.invite.as_deref(), Some("code"));
    assert_code(f.ledger.take_oidc_login("s1").await, "oidc_failed");
    assert_code(f.ledger.take_oidc_login("never").await, "oidc_failed");
    assert_code(f.ledger.take_oidc_login("").await, "oidc_failed");

    // Two callbacks racing with one state: exactly one wins.
    f.ledger.start_oidc_login(start("race")).await.unwrap();
    let (a, b) = tokio::join!(
        f.ledger.take_oidc_login("race"),
        f.ledger.take_oidc_login("race")
    );
    assert!(a.is_ok() != b.is_ok(), "one of {a:?} and {b:?}");

    f.clock
        .advance(f.ledger.config().oidc_login_ttl + Duration::from_secs(1));
    assert_code(f.ledger.take_oidc_login("s2").await, "oidc_failed");
    let mut no_invite = start("s3");
    no_invite.invite = None;
    f.ledger.start_oidc_login(no_invite).await.unwrap();
    assert_eq!(f.ledger.take_oidc_login("s3").await.unwrap().invite, None);
    let mut bad = start("s4");
    bad.invite = Some("x".repeat(65));
    assert_code(f.ledger.start_oidc_login(bad).await, "validation_failed");
}

/// `closed` creates no account; `invite` only with a valid group invite code; both for
/// password and provider sign-ups, while existing accounts still sign in and link.
pub async fn signup_policy<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let group = f.group(&ann, &[]).await;
    let known = f
        .ledger
        .oidc_sign_in(claims("known", Some("known@example.com"), false), None)
        .await
        .unwrap();
    let signup = |email: &str, invite: Option<&str>| SignUp {
        email: email.into(),
        password: PASSWORD.into(),
        display_name: "New".into(),
        invite_code: invite.map(Into::into),
    };

    let closed = f.ledger.clone().with_signup_policy(SignupPolicy::Closed);
    assert_code(
        closed.sign_up(signup("a@example.com", None)).await,
        "signup_closed",
    );
    assert_code(
        closed
            .oidc_sign_in(claims("new", Some("new@example.com"), true), None)
            .await,
        "signup_closed",
    );
    assert_code(
        closed.login("a@example.com", PASSWORD).await,
        "invalid_credentials",
    );
    let back = closed
        .oidc_sign_in(claims("known", None, false), None)
        .await
        .unwrap();
    assert_eq!(back.id, known.id);
    let linked = closed
        .oidc_sign_in(claims("ann-idp", Some("ann@example.com"), true), None)
        .await
        .unwrap();
    assert_eq!(linked.id, ann.id, "linking creates no account");

    let invite_only = f.ledger.clone().with_signup_policy(SignupPolicy::Invite);
    let invite = f
        .ledger
        .create_invite(ann.id, group, NewInvite::default())
        .await
        .unwrap();
    assert_code(
        invite_only.sign_up(signup("b@example.com", None)).await,
        "invite_required",
    );
    assert_code(
        invite_only
            .sign_up(signup("b@example.com", Some("not-a-code")))
            .await,
        "invite_required",
    );
    assert_code(
        invite_only
            .oidc_sign_in(
                claims("b", Some("b@example.com"), false),
                Some("not-a-code"),
            )
            .await,
        "invite_required",
    );
    let b = invite_only
        .sign_up(signup("b@example.com", Some(&invite.code)))
        .await
        .unwrap();
    assert_eq!(b.email.as_str(), "b@example.com");
    let c = invite_only
        .oidc_sign_in(
            claims("c", Some("c@example.com"), false),
            Some(&invite.code),
        )
        .await
        .unwrap();
    assert_eq!(c.email.as_str(), "c@example.com");

    // An expired invite opens nothing.
    f.clock
        .advance(f.ledger.config().invite_ttl + Duration::from_secs(1));
    assert_code(
        invite_only
            .sign_up(signup("d@example.com", Some(&invite.code)))
            .await,
        "invite_required",
    );
    // The open policy (the default) needs nothing.
    f.ledger
        .sign_up(signup("d@example.com", None))
        .await
        .unwrap();
}
