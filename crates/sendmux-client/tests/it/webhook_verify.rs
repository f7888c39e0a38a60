//! Webhook verification: signatures, secret rotation, replays, decoding, and
//! that no secret or body leaks into errors or `Debug`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use sendmux_client::clock::VirtualClock;
use sendmux_client::webhook::{
    self, EVENT_ID_HEADER, EVENT_TYPE_HEADER, Malformation, ReplayGuard, SIGNATURE_HEADER,
    SecretError, Verifier, VerifyError, WebhookEventDataBounceType, WebhookEventType,
};
use sha2::Sha256;

const SECRET: &str = "whsec_s3cr3t_value_for_tests";
const OLD_SECRET: &str = "whsec_old_rotated_away";
/// A string only the body contains, to look for in error texts.
const BODY_MARKER: &str = "private-recipient@example.com";

fn event(id: &str, event_type: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"{event_type}","team_public_id":"team_1",
        "occurred_at":"2026-05-21T09:12:00Z","data":{{"message_id":"m1",
        "message_id_kind":"provider","sendmux_message_id":"smx_msg_1",
        "sender":"news@acme.com","recipients":["{BODY_MARKER}"],"mailbox_id":null,
        "bounce_type":null,"bounce_subtype":null,"complaint_type":null,
        "complaint_subtype":null,"reject_reason":null,"delay_type":null,
        "delay_expires_at":null,"is_spam":null,"webhook_id":null}}}}"#
    )
}

/// Headers as Sendmux sends them for `body`, signed with `secret`.
fn headers(secret: &str, id: &str, event_type: &str, body: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        SIGNATURE_HEADER,
        HeaderValue::from_str(&webhook::sign(secret, body)).unwrap(),
    );
    headers.insert(EVENT_ID_HEADER, HeaderValue::from_str(id).unwrap());
    headers.insert(
        EVENT_TYPE_HEADER,
        HeaderValue::from_str(event_type).unwrap(),
    );
    headers
}

fn delivery(secret: &str, id: &str, event_type: &str) -> (HeaderMap, Vec<u8>) {
    let body = event(id, event_type).into_bytes();
    (headers(secret, id, event_type, &body), body)
}

fn with_signature(mut headers: HeaderMap, value: &str) -> HeaderMap {
    headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(value).unwrap());
    headers
}

#[test]
fn a_valid_signature_verifies_and_decodes() {
    let verifier = Verifier::new(SECRET).unwrap();
    let (headers, body) = delivery(SECRET, "evt_1", "message.delivered");
    let event = verifier.verify(&headers, &body).unwrap();
    assert_eq!(event.event_id(), "evt_1");
    assert_eq!(event.event_type(), &WebhookEventType::MessageDelivered);
    assert_eq!(event.payload().team_public_id, "team_1");
    assert_eq!(event.payload().data.recipients, [BODY_MARKER]);
    assert_eq!(
        event.into_payload().data.sender.as_deref(),
        Some("news@acme.com")
    );
}

#[test]
fn sign_is_the_hmac_sha256_of_the_body_in_lowercase_hex() {
    let body = event("evt_1", "message.delivered");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        webhook::sign(SECRET, body.as_bytes()),
        format!("sha256={hex}")
    );
}

#[test]
fn a_tampered_body_is_a_mismatch() {
    let verifier = Verifier::new(SECRET).unwrap();
    let (headers, body) = delivery(SECRET, "evt_1", "message.delivered");
    let tampered = String::from_utf8(body)
        .unwrap()
        .replace(BODY_MARKER, "attacker@example.com");
    assert_eq!(
        verifier.verify(&headers, tampered.as_bytes()),
        Err(VerifyError::SignatureMismatch)
    );
    // One extra byte is enough.
    let (headers, mut body) = delivery(SECRET, "evt_1", "message.delivered");
    body.push(b' ');
    assert_eq!(
        verifier.verify(&headers, &body),
        Err(VerifyError::SignatureMismatch)
    );
}

#[test]
fn a_missing_signature_header_is_reported_as_such() {
    let verifier = Verifier::new(SECRET).unwrap();
    let (mut headers, body) = delivery(SECRET, "evt_1", "message.delivered");
    headers.remove(SIGNATURE_HEADER);
    assert_eq!(
        verifier.verify(&headers, &body),
        Err(VerifyError::MissingSignature)
    );
    assert_eq!(
        verifier.verify_signature(None, &body),
        Err(VerifyError::MissingSignature)
    );
}

#[test]
fn malformed_signature_headers_are_told_apart() {
    let verifier = Verifier::new(SECRET).unwrap();
    let (headers, body) = delivery(SECRET, "evt_1", "message.delivered");
    let good = webhook::sign(SECRET, &body);
    let hex = &good["sha256=".len()..];
    let cases = [
        (hex.to_owned(), Malformation::MissingPrefix),
        (format!("sha1={hex}"), Malformation::MissingPrefix),
        (String::new(), Malformation::MissingPrefix),
        (
            format!("sha256={}", &hex[..63]),
            Malformation::WrongLength { digits: 63 },
        ),
        (
            format!("sha256={}", &hex[..62]),
            Malformation::WrongLength { digits: 62 },
        ),
        (
            format!("sha256={hex}00"),
            Malformation::WrongLength { digits: 66 },
        ),
        (
            "sha256=".to_owned(),
            Malformation::WrongLength { digits: 0 },
        ),
        (format!("sha256={}zz", &hex[..62]), Malformation::NotHex),
        (format!("sha256=0x{}", &hex[..62]), Malformation::NotHex),
    ];
    for (value, expected) in cases {
        assert_eq!(
            verifier.verify_signature(Some(&value), &body),
            Err(VerifyError::MalformedSignature(expected)),
            "{value:?}"
        );
        assert_eq!(
            verifier.verify(&with_signature(headers.clone(), &value), &body),
            Err(VerifyError::MalformedSignature(expected)),
            "{value:?}"
        );
    }
    // Upper-case hex and surrounding spaces are still the same signature.
    let upper = format!(" SHA256={} ", hex.to_uppercase());
    assert_eq!(verifier.verify_signature(Some(&upper), &body), Ok(()));
}

#[test]
fn a_header_value_that_is_not_text_is_malformed() {
    let verifier = Verifier::new(SECRET).unwrap();
    let (mut headers, body) = delivery(SECRET, "evt_1", "message.delivered");
    let mut value = b"sha256=".to_vec();
    value.extend([0xff; 64]);
    headers.insert(SIGNATURE_HEADER, HeaderValue::from_bytes(&value).unwrap());
    assert_eq!(
        verifier.verify(&headers, &body),
        Err(VerifyError::MalformedSignature(Malformation::NotHex))
    );
}

#[test]
fn a_wrong_secret_is_a_mismatch() {
    let verifier = Verifier::new(SECRET).unwrap();
    let (headers, body) = delivery("whsec_someone_else", "evt_1", "message.delivered");
    assert_eq!(
        verifier.verify(&headers, &body),
        Err(VerifyError::SignatureMismatch)
    );
    // A secret differing only in case is another secret.
    let (headers, body) = delivery(&SECRET.to_uppercase(), "evt_1", "message.delivered");
    assert_eq!(
        verifier.verify(&headers, &body),
        Err(VerifyError::SignatureMismatch)
    );
}

#[test]
fn during_a_rotation_both_secrets_verify_and_afterwards_only_the_new_one() {
    let rolling = Verifier::from_secrets([OLD_SECRET, SECRET]).unwrap();
    assert_eq!(rolling.secret_count(), 2);
    let (old_headers, old_body) = delivery(OLD_SECRET, "evt_old", "message.delivered");
    let (new_headers, new_body) = delivery(SECRET, "evt_new", "message.delivered");
    assert!(rolling.verify(&old_headers, &old_body).is_ok());
    assert!(rolling.verify(&new_headers, &new_body).is_ok());

    let rotated = Verifier::from_secrets(vec![SECRET.to_owned()]).unwrap();
    assert_eq!(
        rotated.verify(&old_headers, &old_body),
        Err(VerifyError::SignatureMismatch)
    );
    assert!(rotated.verify(&new_headers, &new_body).is_ok());
}

#[test]
fn unusable_secrets_are_refused_when_building() {
    assert_eq!(
        Verifier::from_secrets(Vec::<String>::new()).unwrap_err(),
        SecretError::NoSecrets
    );
    assert_eq!(
        Verifier::from_secrets([SECRET, ""]).unwrap_err(),
        SecretError::Empty { index: 1 }
    );
    let with_newline = format!("{SECRET}\n");
    let error = Verifier::new(&with_newline).unwrap_err();
    assert_eq!(error, SecretError::Whitespace { index: 0 });
    assert!(!error.to_string().contains(SECRET));
}

#[test]
fn a_replayed_event_id_is_reported() {
    let verifier = Verifier::new(SECRET)
        .unwrap()
        .with_replay_guard(ReplayGuard::new(100, Duration::from_secs(3600)));
    let (headers, body) = delivery(SECRET, "evt_1", "message.delivered");
    assert!(verifier.verify(&headers, &body).is_ok());
    assert_eq!(
        verifier.verify(&headers, &body),
        Err(VerifyError::Replay {
            event_id: "evt_1".to_owned()
        })
    );
    // Another event still goes through, and a clone shares the guard.
    let (other_headers, other_body) = delivery(SECRET, "evt_2", "message.bounced");
    let clone = verifier.clone();
    assert!(clone.verify(&other_headers, &other_body).is_ok());
    assert!(matches!(
        verifier.verify(&other_headers, &other_body),
        Err(VerifyError::Replay { .. })
    ));
}

#[test]
fn deliveries_that_fail_verification_do_not_use_up_their_id() {
    let verifier = Verifier::new(SECRET)
        .unwrap()
        .with_replay_guard(ReplayGuard::new(100, Duration::from_secs(3600)));
    let (headers, body) = delivery(SECRET, "evt_1", "message.delivered");

    // Forged, unsigned and inconsistent requests naming evt_1 come first.
    let forged = with_signature(headers.clone(), &webhook::sign("whsec_guess", &body));
    assert_eq!(
        verifier.verify(&forged, &body),
        Err(VerifyError::SignatureMismatch)
    );
    let mut unsigned = headers.clone();
    unsigned.remove(SIGNATURE_HEADER);
    assert!(verifier.verify(&unsigned, &body).is_err());
    let mut wrong_id = headers.clone();
    wrong_id.insert(EVENT_ID_HEADER, HeaderValue::from_static("evt_other"));
    assert!(verifier.verify(&wrong_id, &body).is_err());
    assert!(!verifier.replay_guard().unwrap().contains("evt_1"));

    // The genuine delivery still verifies.
    assert!(verifier.verify(&headers, &body).is_ok());
    assert!(verifier.replay_guard().unwrap().contains("evt_1"));
}

#[test]
fn a_forgotten_id_verifies_again() {
    let verifier = Verifier::new(SECRET)
        .unwrap()
        .with_replay_guard(ReplayGuard::new(100, Duration::from_secs(3600)));
    let (headers, body) = delivery(SECRET, "evt_1", "message.delivered");
    assert!(verifier.verify(&headers, &body).is_ok());
    assert!(verifier.forget("evt_1"));
    assert!(!verifier.forget("evt_1"));
    assert!(verifier.verify(&headers, &body).is_ok());
    assert!(verifier.verify(&headers, &body).is_err());
}

#[test]
fn without_a_guard_a_repeat_verifies() {
    let verifier = Verifier::new(SECRET).unwrap();
    let (headers, body) = delivery(SECRET, "evt_1", "message.delivered");
    assert!(verifier.verify(&headers, &body).is_ok());
    assert!(verifier.verify(&headers, &body).is_ok());
    assert!(!verifier.forget("evt_1"));
}

#[test]
fn event_headers_must_be_present_and_match_the_signed_body() {
    let verifier = Verifier::new(SECRET).unwrap();
    let (headers, body) = delivery(SECRET, "evt_1", "message.delivered");

    let mut no_id = headers.clone();
    no_id.remove(EVENT_ID_HEADER);
    assert_eq!(
        verifier.verify(&no_id, &body),
        Err(VerifyError::MissingEventId)
    );

    // The headers are not signed: a changed id would slip past a replay guard.
    let mut other_id = headers.clone();
    other_id.insert(EVENT_ID_HEADER, HeaderValue::from_static("evt_2"));
    assert_eq!(
        verifier.verify(&other_id, &body),
        Err(VerifyError::HeaderMismatch {
            header: "X-Sendmux-Event-Id"
        })
    );

    let mut other_type = headers.clone();
    other_type.insert(
        EVENT_TYPE_HEADER,
        HeaderValue::from_static("message.bounced"),
    );
    assert_eq!(
        verifier.verify(&other_type, &body),
        Err(VerifyError::HeaderMismatch {
            header: "X-Sendmux-Event-Type"
        })
    );

    // The type header is optional: the signed body carries the type.
    let mut no_type = headers;
    no_type.remove(EVENT_TYPE_HEADER);
    let event = verifier.verify(&no_type, &body).unwrap();
    assert_eq!(event.event_type(), &WebhookEventType::MessageDelivered);
}

#[test]
fn an_unknown_event_type_is_kept() {
    let verifier = Verifier::new(SECRET).unwrap();
    let (headers, body) = delivery(SECRET, "evt_1", "message.opened");
    let event = verifier.verify(&headers, &body).unwrap();
    assert_eq!(
        event.event_type(),
        &WebhookEventType::Unknown("message.opened".to_owned())
    );
    assert_eq!(event.event_type().as_str(), "message.opened");
}

#[test]
fn new_fields_and_values_in_the_body_decode() {
    let verifier = Verifier::new(SECRET).unwrap();
    let body = event("evt_1", "message.bounced")
        .replace(r#""bounce_type":null"#, r#""bounce_type":"Soft""#)
        .replace(
            r#""team_public_id":"team_1""#,
            r#""team_public_id":"team_1","schema":2"#,
        )
        .replace(r#""webhook_id":null"#, r#""webhook_id":null,"tags":["a"]"#);
    let headers = headers(SECRET, "evt_1", "message.bounced", body.as_bytes());
    let event = verifier.verify(&headers, body.as_bytes()).unwrap();
    assert_eq!(
        event.payload().data.bounce_type,
        Some(WebhookEventDataBounceType::Unknown("Soft".to_owned()))
    );
}

#[test]
fn a_signed_body_that_is_not_an_event_is_an_invalid_payload() {
    let verifier = Verifier::new(SECRET).unwrap();

    let body = format!(r#"{{"id":"evt_1","secret_note":"{BODY_MARKER}""#);
    let headers_ = headers(SECRET, "evt_1", "message.delivered", body.as_bytes());
    let error = verifier.verify(&headers_, body.as_bytes()).unwrap_err();
    assert!(matches!(error, VerifyError::InvalidPayload(_)), "{error:?}");

    // A field of the wrong type: the decoder's own message would quote the value.
    let body = event("evt_1", "message.delivered").replace(
        r#""is_spam":null"#,
        &format!(r#""is_spam":"{BODY_MARKER}""#),
    );
    let headers_ = headers(SECRET, "evt_1", "message.delivered", body.as_bytes());
    let error = verifier.verify(&headers_, body.as_bytes()).unwrap_err();
    let VerifyError::InvalidPayload(payload) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(payload.category(), serde_json::error::Category::Data);
    assert!(!error.to_string().contains(BODY_MARKER), "{error}");
    assert!(!format!("{error:?}").contains(BODY_MARKER), "{error:?}");

    // A missing field is named.
    let body = event("evt_1", "message.delivered").replace(r#""team_public_id":"team_1","#, "");
    let headers_ = headers(SECRET, "evt_1", "message.delivered", body.as_bytes());
    let error = verifier.verify(&headers_, body.as_bytes()).unwrap_err();
    let VerifyError::InvalidPayload(payload) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(payload.missing_field(), Some("team_public_id"));
    assert!(error.to_string().contains("team_public_id"), "{error}");
}

#[test]
fn no_error_and_no_debug_output_shows_a_secret_or_the_body() {
    let guard = ReplayGuard::new(10, Duration::from_secs(60));
    let verifier = Verifier::from_secrets([OLD_SECRET, SECRET])
        .unwrap()
        .with_replay_guard(guard);
    let (headers, body) = delivery(SECRET, "evt_1", "message.delivered");
    verifier.verify(&headers, &body).unwrap();

    let mut errors = vec![
        verifier.verify(&headers, &body).unwrap_err(),
        verifier.verify(&headers, b"{}").unwrap_err(),
        verifier
            .verify(&with_signature(headers.clone(), "sha256=zz"), &body)
            .unwrap_err(),
        verifier.verify(&HeaderMap::new(), &body).unwrap_err(),
    ];
    let broken = format!("{{\"{BODY_MARKER}\"");
    errors.push(
        verifier
            .verify(&headers_for(&broken), broken.as_bytes())
            .unwrap_err(),
    );
    assert_eq!(errors.len(), 5);

    let mut texts: Vec<String> = errors
        .iter()
        .flat_map(|e| [e.to_string(), format!("{e:?}")])
        .collect();
    texts.push(format!("{verifier:?}"));
    texts.push(format!("{verifier:#?}"));
    for text in &texts {
        for secret in [SECRET, OLD_SECRET, "s3cr3t", "rotated"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(!text.contains(BODY_MARKER), "{text}");
        assert!(!text.contains("team_1"), "{text}");
    }
    assert!(format!("{verifier:?}").contains("redacted"));
}

fn headers_for(body: &str) -> HeaderMap {
    headers(SECRET, "evt_1", "message.delivered", body.as_bytes())
}

#[test]
fn the_guard_evicts_the_oldest_id_beyond_its_capacity() {
    let guard = ReplayGuard::new(2, Duration::from_secs(3600));
    let now = Instant::now();
    assert!(guard.first_seen_at("evt_a", now));
    assert!(guard.first_seen_at("evt_b", now));
    assert!(!guard.first_seen_at("evt_a", now));
    assert!(guard.first_seen_at("evt_c", now));
    assert_eq!(guard.len(), 2);
    // evt_a, the oldest, made room for evt_c.
    assert!(!guard.contains_at("evt_a", now));
    assert!(guard.contains_at("evt_b", now));
    assert!(guard.contains_at("evt_c", now));
    assert!(guard.first_seen_at("evt_a", now));
    assert!(!guard.contains_at("evt_b", now));
}

#[test]
fn the_guard_forgets_an_id_once_its_window_has_passed() {
    let clock = Arc::new(VirtualClock::new());
    let guard = ReplayGuard::new(100, Duration::from_secs(60)).with_clock(clock.clone());
    assert!(guard.first_seen("evt_a"));
    clock.advance(Duration::from_secs(30));
    assert!(guard.first_seen("evt_b"));
    assert!(!guard.first_seen("evt_a"));
    assert_eq!(guard.len(), 2);

    clock.advance(Duration::from_secs(30));
    // evt_a is 60 s old and gone; evt_b, 30 s old, is held.
    assert_eq!(guard.len(), 1);
    assert!(!guard.contains("evt_a"));
    assert!(!guard.first_seen("evt_b"));
    assert!(guard.first_seen("evt_a"));
    assert!(!guard.first_seen("evt_a"));
}

#[test]
fn the_guard_copes_with_an_explicit_time_going_backwards() {
    let guard = ReplayGuard::new(10, Duration::from_secs(60));
    let start = Instant::now();
    let later = start + Duration::from_secs(120);
    assert!(guard.first_seen_at("evt_b", later));
    assert!(guard.first_seen_at("evt_a", start));
    // evt_a is expired at `later + 60s` even though it sits behind evt_b.
    let much_later = later + Duration::from_secs(30);
    assert!(guard.first_seen_at("evt_a", much_later));
    assert!(!guard.first_seen_at("evt_a", much_later));
    assert!(!guard.first_seen_at("evt_b", much_later));
}

#[test]
fn the_guard_lets_exactly_one_of_many_concurrent_repeats_through() {
    let guard = Arc::new(ReplayGuard::new(1000, Duration::from_secs(3600)));
    let firsts: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let guard = Arc::clone(&guard);
                scope.spawn(move || {
                    (0..100)
                        .filter(|i| guard.first_seen(&format!("evt_{i}")))
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(firsts, 100);
    assert_eq!(guard.len(), 100);
}

#[test]
fn a_zero_capacity_still_remembers_the_last_id() {
    let guard = ReplayGuard::new(0, Duration::from_secs(60));
    assert_eq!(guard.capacity(), 1);
    assert!(guard.is_empty());
    assert!(guard.first_seen("evt_a"));
    assert!(!guard.first_seen("evt_a"));
    assert!(!guard.is_empty());
}
