//! Edge cases of the policy modules (location, origin, credentials, idempotency, retry,
//! redirect) through the public API, written to kill the mutants `cargo xtask mutants` found
//! surviving (see docs/mutants.md): each test names the rule it pins down.

use hopsafe::location::{resolve_location, LocationError, MAX_LOCATION_LEN};
use url::Url;

fn base() -> Url {
    Url::parse("http://a.test/dir/page#frag").unwrap()
}

/// The length limit is inclusive: exactly `MAX_LOCATION_LEN` bytes are followed, one more is
/// refused with the length in the error.
#[test]
fn location_length_limit_is_inclusive() {
    let path = format!("/{}", "a".repeat(MAX_LOCATION_LEN - 1));
    assert_eq!(path.len(), MAX_LOCATION_LEN);
    assert!(resolve_location(&base(), path.as_bytes()).is_ok());
    let longer = format!("{path}b");
    assert_eq!(
        resolve_location(&base(), longer.as_bytes()),
        Err(LocationError::TooLong(MAX_LOCATION_LEN + 1))
    );
}
