//! The client's error-response interpretation never panics, keeps the
//! status, and bounds the body snippet it carries.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[status_hi, status_lo, retry_after], body)) = data.split_first_chunk::<3>() else {
        return;
    };
    let status = 400 + (u16::from_be_bytes([status_hi, status_lo]) % 200);
    let mut headers = http::HeaderMap::new();
    // Exercise the header paths too: Retry-After and X-RateLimit-Reset parsing.
    headers.insert("retry-after", http::HeaderValue::from(u32::from(retry_after)));
    headers.insert("x-ratelimit-reset", http::HeaderValue::from(1_800_000_000u32));
    let error = sendmux_client::Error::from_response(status, &headers, body);
    assert_eq!(error.status(), Some(status));
    let rendered = error.to_string();
    assert!(rendered.len() < 4096 + 2 * body.len().min(4096), "{}", rendered.len());
    if let sendmux_client::Error::Undecodable { snippet, .. } = &error {
        assert!(snippet.len() <= 2048, "snippet of {} bytes", snippet.len());
    }
});
