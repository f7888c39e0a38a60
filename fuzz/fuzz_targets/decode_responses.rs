//! Every Domains response type decodes arbitrary bytes without panicking,
//! and whatever decodes re-encodes and decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sendmux_api::types;

fn round_trip<T>(data: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        let encoded = serde_json::to_vec(&value).expect("a decoded value encodes");
        let again: T = serde_json::from_slice(&encoded).expect("our own encoding decodes");
        assert_eq!(value, again);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    match selector % 6 {
        0 => round_trip::<types::DomainItemResponse>(body),
        1 => round_trip::<types::DomainItemCursorListResponse>(body),
        2 => round_trip::<types::DomainVerifyResponse>(body),
        3 => round_trip::<types::DomainDeletedResponse>(body),
        4 => round_trip::<types::FilterStateResponse>(body),
        _ => round_trip::<types::ApiError>(body),
    }
});
