//! A pretend application crate, the way a user of the SDK would write one:
//! a function that registers a sending domain through `sendmux-client` and
//! turns the API's answers into the application's own error type.
//!
//! Its tests (`tests/register.rs`) show how such a crate tests its own code
//! against `sendmux-mock`, added as a dev-dependency: a stubbed answer, a
//! forced `409`, and expectations on the calls made.

use sendmux_client::{Client, Error};

/// What the application keeps about a domain it registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The API's id of the domain (`mdom_...`).
    pub id: String,
    /// The domain name.
    pub domain: String,
    /// DNS records the domain owner still has to publish (DKIM, SPF,
    /// DMARC, the verification record, and the MAIL FROM pair).
    pub records_to_publish: usize,
}

/// Why a domain could not be registered, in the application's terms.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// The API answered `409`: the name is in use already.
    #[error("{0} is already registered")]
    AlreadyTaken(String),
    /// The API answered `403`: the key may not add domains.
    #[error("this API key may not register domains")]
    NotAllowed,
    /// Anything else the client reported (bad input, network, 5xx, ...).
    #[error(transparent)]
    Api(#[from] Error),
}

/// Registers `name` as a sending domain of the team behind `client`'s key.
///
/// ```no_run
/// # async fn run() -> Result<(), sendmux_downstream_example::RegisterError> {
/// let client = sendmux_client::Client::from_env()?;
/// let registered = sendmux_downstream_example::register_domain(&client, "shop.example.com").await?;
/// println!("publish {} records for {}", registered.records_to_publish, registered.domain);
/// # Ok(()) }
/// ```
pub async fn register_domain(client: &Client, name: &str) -> Result<Registered, RegisterError> {
    match client.domains().create(name).await {
        Ok(created) => {
            let records = &created.dns_records;
            Ok(Registered {
                id: created.id.clone(),
                domain: created.domain.clone(),
                records_to_publish: records.dkim.len() + records.mx.len() + 5,
            })
        }
        Err(e) if e.status() == Some(409) => Err(RegisterError::AlreadyTaken(name.to_owned())),
        Err(e) if e.status() == Some(403) => Err(RegisterError::NotAllowed),
        Err(e) => Err(e.into()),
    }
}
