//! The redirect hook: a Python callable asked before every hop. It gets a dict (`status`,
//! `from`, `to`, `method`, `next_method`, `hops`) and returns `None`/`"follow"`/`True` to
//! follow, `"stop"`/`False` to return the 3xx, or raises to fail the call with
//! `RedirectRejectedError` (the exception's text is the reason). It runs with the GIL taken on
//! one of hopsafe's threads while the call waits.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// What the hook decided, from its return value.
fn decide(v: &Bound<'_, PyAny>) -> hopsafe::RedirectAction {
    if v.is_none() {
        return hopsafe::RedirectAction::Follow;
    }
    if let Ok(follow) = v.extract::<bool>() {
        return if follow {
            hopsafe::RedirectAction::Follow
        } else {
            hopsafe::RedirectAction::Stop
        };
    }
    match v.extract::<String>().as_deref() {
        Ok("follow") => hopsafe::RedirectAction::Follow,
        Ok("stop") => hopsafe::RedirectAction::Stop,
        _ => hopsafe::RedirectAction::Fail(format!(
            "the redirect hook returned {v}; return None, 'follow', 'stop' or raise"
        )),
    }
}

/// The core hook that asks `hook`.
pub(crate) fn to_core(
    hook: Py<PyAny>,
) -> impl Fn(&hopsafe::RedirectAttempt<'_>) -> hopsafe::RedirectAction + Send + Sync + 'static {
    move |a| {
        Python::attach(|py| {
            let info = PyDict::new(py);
            let filled = (|| {
                info.set_item("status", a.status.as_u16())?;
                info.set_item("from", a.from.as_str())?;
                info.set_item("to", a.to.as_str())?;
                info.set_item("method", a.method.as_str())?;
                info.set_item("next_method", a.next_method.as_str())?;
                info.set_item("hops", a.hops)?;
                hook.bind(py).call1((info,))
            })();
            match filled {
                Ok(v) => decide(&v),
                Err(e) => hopsafe::RedirectAction::Fail(e.to_string()),
            }
        })
    }
}
