//! The redirect hook: a JS function asked before every hop (`new Client({ redirectHook })`).
//!
//! The core calls hooks synchronously on one of its threads. This one posts the hop to the JS
//! thread (a threadsafe function that does not keep the event loop alive) and waits for
//! `index.js` to answer through [`redirect_hook_reply`], which it does once the user's
//! function returned, or its promise settled: a sync or an async hook. The wait leaves the
//! worker thread to the runtime's other tasks (`block_in_place`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use hopsafe::RedirectAction;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use crate::lock;

/// The JS side of a hook: called with the hop as a JSON document (`id` included).
pub type HookFn = ThreadsafeFunction<String, (), String, Status, false, true>;

type Pending = Mutex<HashMap<u32, mpsc::SyncSender<RedirectAction>>>;

fn pending() -> &'static Pending {
    static PENDING: OnceLock<Pending> = OnceLock::new();
    PENDING.get_or_init(Default::default)
}

static NEXT: AtomicU32 = AtomicU32::new(1);

/// Waits for the answer without starving the runtime's other tasks.
fn wait(rx: &mpsc::Receiver<RedirectAction>) -> Option<RedirectAction> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let multi =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if multi {
        tokio::task::block_in_place(|| rx.recv().ok())
    } else {
        rx.recv().ok()
    }
}

/// The core hook that asks `hook`.
pub(crate) fn to_core(
    hook: HookFn,
) -> impl Fn(&hopsafe::RedirectAttempt<'_>) -> RedirectAction + Send + Sync + 'static {
    let hook = Arc::new(hook);
    move |a| {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::sync_channel(1);
        lock(pending()).insert(id, tx);
        let doc = serde_json::json!({
            "id": id, "status": a.status.as_u16(), "from": a.from.as_str(), "to": a.to.as_str(),
            "method": a.method.as_str(), "nextMethod": a.next_method.as_str(), "hops": a.hops,
        })
        .to_string();
        if hook.call(doc, ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok {
            lock(pending()).remove(&id);
            return RedirectAction::Fail(
                "the redirect hook could not be called (Node is exiting)".into(),
            );
        }
        wait(&rx).unwrap_or_else(|| RedirectAction::Fail("the redirect hook never answered".into()))
    }
}

/// The answer to hook call `id`: `follow`, `stop`, or `fail` with the reason (`index.js`
/// calls it once the user's hook returned or settled).
#[napi(catch_unwind)]
pub fn redirect_hook_reply(id: u32, action: String, reason: Option<String>) {
    let Some(tx) = lock(pending()).remove(&id) else {
        return;
    };
    let decided = match action.as_str() {
        "follow" => RedirectAction::Follow,
        "stop" => RedirectAction::Stop,
        _ => RedirectAction::Fail(reason.unwrap_or_else(|| "refused by the redirect hook".into())),
    };
    let _ = tx.send(decided);
}
