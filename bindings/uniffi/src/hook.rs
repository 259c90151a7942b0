//! The redirect hook: a `RedirectHook` implemented in Kotlin or Swift, asked before every hop
//! the built-in rules would follow. It can follow, stop (the 3xx is returned) or fail the call
//! with `RedirectRejected`; it never loosens a rule (a refused downgrade stays refused).

use std::sync::Arc;

use crate::error::HopsafeError;

/// What the hook is shown before a hop.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RedirectInfo {
    /// The redirect status (301, 302, 303, 307, 308).
    pub status: u16,
    /// The URL that answered with the redirect (credentials removed).
    pub from: String,
    /// The resolved target.
    pub to: String,
    /// The method that was sent.
    pub method: String,
    /// The method the next hop will use (GET after a 303, or a 301/302 answering a POST).
    pub next_method: String,
    /// Redirects already followed in this chain.
    pub hops: u32,
}

/// The hook's decision.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RedirectDecision {
    /// Follow the redirect (the built-in rules still apply).
    Follow,
    /// Stop and return the 3xx response.
    Stop,
    /// Fail the call with `RedirectRejected` and this reason.
    Reject {
        /// Why, for the error message.
        reason: String,
    },
}

/// Asked before every hop. Called on one of hopsafe's runtime threads while the call waits:
/// keep it quick and do not block on network I/O. Throwing fails the call with
/// `RedirectRejected` (the exception's message is the reason).
#[uniffi::export(foreign)]
pub trait RedirectHook: Send + Sync {
    /// The decision for this hop.
    fn on_redirect(&self, attempt: RedirectInfo) -> Result<RedirectDecision, HopsafeError>;
}

/// The core hook that asks `hook`.
pub(crate) fn to_core(
    hook: Arc<dyn RedirectHook>,
) -> impl Fn(&hopsafe::RedirectAttempt<'_>) -> hopsafe::RedirectAction + Send + Sync + 'static {
    move |a| {
        let info = RedirectInfo {
            status: a.status.as_u16(),
            from: a.from.to_string(),
            to: a.to.to_string(),
            method: a.method.to_string(),
            next_method: a.next_method.to_string(),
            hops: u32::try_from(a.hops).unwrap_or(u32::MAX),
        };
        match hook.on_redirect(info) {
            Ok(RedirectDecision::Follow) => hopsafe::RedirectAction::Follow,
            Ok(RedirectDecision::Stop) => hopsafe::RedirectAction::Stop,
            Ok(RedirectDecision::Reject { reason }) => hopsafe::RedirectAction::Fail(reason),
            Err(e) => hopsafe::RedirectAction::Fail(format!("the redirect hook failed: {e}")),
        }
    }
}
