//! What the Sending API's and the Mailbox API's uploads share: the checks
//! on a signed upload URL the server handed out, and the name a local
//! file is uploaded under.

use std::path::Path;

use crate::error::InvalidInput;

/// The server's upload URL: absolute http(s), no credentials. A refusal
/// shows neither the user information nor the query, where the upload
/// token may be.
pub(crate) fn upload_url(raw: &str) -> Result<reqwest::Url, InvalidInput> {
    let shown = crate::client::redact_userinfo(without_query(raw));
    let refused = |problem: String| InvalidInput::new("upload_url", problem, "start a new upload");
    let url =
        reqwest::Url::parse(raw).map_err(|e| refused(format!("{shown:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(refused(format!("{shown:?} is not an http(s) URL")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused(format!("{shown:?} carries credentials")));
    }
    Ok(url)
}

/// `url` up to its query: what `Debug` and errors may show of a signed
/// URL.
pub(crate) fn without_query(url: &str) -> &str {
    url.split_once(['?', '#']).map_or(url, |(url, _)| url)
}

/// The name a file is uploaded under.
pub(crate) fn file_name(path: &Path) -> Result<String, InvalidInput> {
    path.file_name()
        .and_then(|name| name.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            InvalidInput::new(
                "file",
                format!("{} has no UTF-8 file name", path.display()),
                "pass the path of a file, e.g. `reports/2026-11.pdf`",
            )
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn refusals_show_no_token() {
        let problem = upload_url("ftp://up.example.com/u/1?upload_token=s3cr3t").unwrap_err();
        assert!(!problem.to_string().contains("s3cr3t"), "{problem}");
        assert_eq!(without_query("https://x.y/u?t=1"), "https://x.y/u");
        assert_eq!(without_query("https://x.y/u#t"), "https://x.y/u");
        assert_eq!(without_query("https://x.y/u"), "https://x.y/u");
    }
}
