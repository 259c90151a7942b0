//! Decides when a read has waited past the read timeout. One watchdog thread for the whole
//! process keeps the deadlines of the reads in flight and sleeps until the earliest: a read
//! registers its deadline in a table (a lock and a slot), where a tokio timer would be put into
//! and taken out of the runtime's timer wheel for every response head. With one read timeout
//! per client, a new deadline is nearly always later than the one the thread sleeps until, so
//! registering does not wake it. With no read in flight the thread parks without a deadline
//! (an idle process is never woken). It wakes only the reads whose deadline passed, through
//! their wakers, so it serves every runtime alike (the shared one, a caller-driven one).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// The read timeout passed before the read completed.
#[derive(Debug)]
pub(crate) struct Elapsed;

/// Runs `read` with at most `limit` between its first poll that finds it pending and its end.
pub(crate) fn within<F: Future>(limit: Duration, read: F) -> Within<F> {
    Within {
        read,
        limit,
        guard: Guard::None,
    }
}

/// A read under the read timeout ([`within`]).
pub(crate) struct Within<F> {
    read: F,
    limit: Duration,
    guard: Guard,
}

/// How a pending read is watched.
enum Guard {
    /// Not yet pending.
    None,
    /// A slot in the watchdog's table.
    Slot(usize),
    /// A timer of the runtime, if the watchdog thread could not be started.
    Timer(Pin<Box<tokio::time::Sleep>>),
    /// No deadline (the limit is too long to represent).
    Never,
}

impl<F: Future> Future for Within<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `read` is structurally pinned: it is never moved out of `self` (nor is
        // `self` given a `Drop` that moves it); the other fields are not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let read = unsafe { Pin::new_unchecked(&mut this.read) };
        if let Poll::Ready(out) = read.poll(cx) {
            this.guard.release();
            return Poll::Ready(Ok(out));
        }
        let expired = match &mut this.guard {
            Guard::None => {
                this.guard = start(this.limit, cx.waker());
                // A deadline already due (a zero limit) is reported by the watchdog's wake.
                match &mut this.guard {
                    Guard::Timer(t) => t.as_mut().poll(cx).is_ready(),
                    _ => false,
                }
            }
            Guard::Slot(slot) => !table().still_waiting(*slot, cx.waker()),
            Guard::Timer(t) => t.as_mut().poll(cx).is_ready(),
            Guard::Never => false,
        };
        if expired {
            this.guard.release();
            return Poll::Ready(Err(Elapsed));
        }
        Poll::Pending
    }
}

impl<F> Drop for Within<F> {
    fn drop(&mut self) {
        self.guard.release();
    }
}

impl Guard {
    fn release(&mut self) {
        if let Guard::Slot(slot) = std::mem::replace(self, Guard::Never) {
            table().release(slot);
        }
    }
}

/// Watches a read that just found itself pending.
fn start(limit: Duration, waker: &Waker) -> Guard {
    let Some(deadline) = Instant::now().checked_add(limit) else {
        return Guard::Never;
    };
    match table().watch(deadline, waker) {
        Some(slot) => Guard::Slot(slot),
        None => Guard::Timer(Box::pin(tokio::time::sleep_until(deadline.into()))),
    }
}

/// The deadlines in flight, shared with the watchdog thread.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// When the thread will look next; `None` while it sleeps without a deadline.
    looks_at: Option<Instant>,
    thread: Option<Thread>,
    /// The thread could not be started: reads fall back to the runtime's timers.
    failed: bool,
}

struct Slot {
    deadline: Instant,
    /// The read's waker; `None` once the slot is free.
    waker: Option<Waker>,
    /// The deadline passed and the waker was woken.
    expired: bool,
}

static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();

fn table() -> TableRef {
    TableRef(TABLE.get_or_init(Mutex::default))
}

struct TableRef(&'static Mutex<Table>);

impl TableRef {
    fn lock(&self) -> MutexGuard<'static, Table> {
        // The table holds no invariant a panic elsewhere could break halfway.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a deadline; `None` if there is no watchdog thread to watch it.
    fn watch(&self, deadline: Instant, waker: &Waker) -> Option<usize> {
        let mut t = self.lock();
        if t.failed {
            return None;
        }
        let entry = Slot {
            deadline,
            waker: Some(waker.clone()),
            expired: false,
        };
        let slot = match t.free.pop() {
            Some(i) => {
                t.slots[i] = entry;
                i
            }
            None => {
                t.slots.push(entry);
                t.slots.len() - 1
            }
        };
        // Wake the thread only if it would look too late (or not at all).
        if t.looks_at.is_none_or(|at| deadline < at) {
            t.looks_at = Some(deadline);
            match &t.thread {
                Some(thread) => thread.unpark(),
                None => match spawn() {
                    Some(thread) => t.thread = Some(thread),
                    None => {
                        t.failed = true;
                        t.free.push(slot);
                        let waker = t.slots[slot].waker.take();
                        drop(t);
                        drop(waker);
                        return None;
                    }
                },
            }
        }
        Some(slot)
    }

    /// Whether the deadline has not passed yet; keeps the latest waker.
    fn still_waiting(&self, slot: usize, waker: &Waker) -> bool {
        let replaced = {
            let mut t = self.lock();
            let entry = &mut t.slots[slot];
            if entry.expired {
                return false;
            }
            match &entry.waker {
                Some(kept) if kept.will_wake(waker) => None,
                _ => entry.waker.replace(waker.clone()),
            }
        };
        // Dropped outside the lock: a waker's drop may run arbitrary code.
        drop(replaced);
        true
    }

    fn release(&self, slot: usize) {
        let waker = {
            let mut t = self.lock();
            t.free.push(slot);
            t.slots[slot].waker.take()
        };
        // Dropped outside the lock: a waker's drop may run arbitrary code.
        drop(waker);
    }
}

fn spawn() -> Option<Thread> {
    std::thread::Builder::new()
        .name("hopsafe-watchdog".into())
        .stack_size(64 * 1024)
        .spawn(watch_loop)
        .ok()
        .map(|handle| handle.thread().clone())
}

/// The watchdog thread: wakes the reads whose deadline passed, then sleeps until the next.
fn watch_loop() {
    let table = table();
    loop {
        let next = {
            let mut t = table.lock();
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            for slot in t.slots.iter_mut() {
                let Some(waker) = &slot.waker else { continue };
                if slot.expired {
                    continue;
                }
                if slot.deadline <= now {
                    // Woken by reference: the read drops its waker when it releases the slot.
                    slot.expired = true;
                    waker.wake_by_ref();
                } else if next.is_none_or(|n| slot.deadline < n) {
                    next = Some(slot.deadline);
                }
            }
            t.looks_at = next;
            next
        };
        match next {
            None => std::thread::park(),
            Some(at) => std::thread::park_timeout(at.saturating_duration_since(Instant::now())),
        }
    }
}
