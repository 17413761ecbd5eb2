//! Compile-time auto-trait checks of the public API, matching Tokio's: `Runtime`, `Handle`,
//! `JoinHandle<T: Send>`, `AbortHandle`, `JoinError`, `JoinSet<T: Send>`, `task::Id`, both
//! `Builder`s and the small value types are `Send + Sync`; `EnterGuard` and handles of `!Send`
//! outputs are `!Send`; `JoinHandle` is `Unpin`; the futures returned by the task API
//! (`join_next`, `shutdown`, `yield_now`, `consume_budget`, `unconstrained`) are `Send`, so
//! they can be awaited inside spawned tasks; and `spawn` accepts `!Unpin` futures and
//! futures holding `Send + !Sync` values across an await.
//!
//! Positive checks are compile-time bounds (the file fails to build if one breaks); negative
//! checks (`!Send`, `!Unpin`) use autoref-specialization probes that yield a `bool`, asserted
//! at run time, with a self-test showing the probes can answer both ways. The spawning
//! examples run for real.

use runtime::task::{self, AbortHandle, JoinError, JoinHandle, JoinSet};
use runtime::{Builder, EnterGuard, Handle, Runtime, RuntimeFlavor, StallReport, TryCurrentError};
use std::cell::Cell;
use std::future::Future;
use std::marker::{PhantomData, PhantomPinned};
use std::rc::Rc;

fn assert_send<T: Send>() {}
fn assert_send_sync<T: Send + Sync>() {}
fn assert_unpin<T: Unpin>() {}
fn assert_send_val<T: Send>(_: &T) {}

/// Auto-trait probes that evaluate to a `bool` (so negative checks can be asserted): method
/// resolution on `&&Probe<T>` picks the impl for `&Probe<T>` when its bound holds, else falls
/// back to the impl for `Probe<T>` ("autoref specialization"). Only valid where `T` is
/// concrete, hence macros.
struct Probe<T: ?Sized>(PhantomData<T>);

macro_rules! probe_trait {
    ($specific:ident, $fallback:ident, $method:ident, $bound:path) => {
        trait $specific {
            fn $method(&self) -> bool {
                true
            }
        }
        impl<T: ?Sized + $bound> $specific for &Probe<T> {}
        trait $fallback {
            fn $method(&self) -> bool {
                false
            }
        }
        impl<T: ?Sized> $fallback for Probe<T> {}
    };
}
probe_trait!(ProbeSend, ProbeSendFallback, is_send, Send);
probe_trait!(ProbeSync, ProbeSyncFallback, is_sync, Sync);
probe_trait!(ProbeUnpin, ProbeUnpinFallback, is_unpin, Unpin);

macro_rules! is_send {
    ($t:ty) => {
        (&&Probe::<$t>(PhantomData)).is_send()
    };
}
macro_rules! is_sync {
    ($t:ty) => {
        (&&Probe::<$t>(PhantomData)).is_sync()
    };
}

/// A probe for the (possibly unnameable) type of `_value`.
fn probe_of<T>(_value: &T) -> Probe<T> {
    Probe(PhantomData)
}

/// Whether the type of the expression is `Unpin` (the expression is only borrowed).
macro_rules! is_unpin_val {
    ($e:expr) => {
        (&&probe_of(&$e)).is_unpin()
    };
}

#[test]
fn probes_distinguish() {
    // The probes themselves must be able to say both yes and no.
    assert!(is_send!(u8));
    assert!(!is_send!(Rc<u8>));
    assert!(is_sync!(u8));
    assert!(!is_sync!(Cell<u8>));
    assert!(is_unpin_val!(std::future::ready(1)));
    assert!(!is_unpin_val!(PhantomPinned));
}

#[test]
fn runtime_types_are_send_and_sync() {
    assert_send_sync::<Runtime>();
    assert_send_sync::<Handle>();
    assert_send_sync::<Builder>();
    assert_send_sync::<RuntimeFlavor>();
    assert_send_sync::<TryCurrentError>();
    assert_send_sync::<StallReport>();
}

#[test]
fn enter_guard_is_not_send() {
    // Like Tokio's: the guard restores a thread-local, so it must stay on its thread.
    assert!(!is_send!(EnterGuard<'static>));
}

#[test]
fn task_types_are_send_and_sync() {
    assert_send_sync::<JoinHandle<()>>();
    assert_send_sync::<JoinHandle<String>>();
    // Output only needs Send (it is moved, never shared): Cell<u8> is Send + !Sync.
    assert_send_sync::<JoinHandle<Cell<u8>>>();
    assert_send_sync::<AbortHandle>();
    assert_send_sync::<JoinError>();
    assert_send_sync::<JoinSet<()>>();
    assert_send_sync::<JoinSet<Cell<u8>>>();
    assert_send_sync::<task::Id>();
    assert_send_sync::<task::Builder<'static>>();
    assert_send::<task::Unconstrained<std::future::Ready<()>>>();
}

#[test]
fn handles_of_non_send_outputs_are_not_send() {
    assert!(!is_send!(JoinHandle<Rc<()>>));
    assert!(!is_sync!(JoinHandle<Rc<()>>));
    assert!(!is_send!(JoinSet<Rc<()>>));
    assert!(!is_send!(JoinHandle<std::sync::MutexGuard<'static, ()>>));
}

#[test]
fn join_handle_is_unpin() {
    assert_unpin::<JoinHandle<()>>();
    assert_unpin::<JoinHandle<PhantomPinned>>();
    assert_unpin::<AbortHandle>();
    assert_unpin::<JoinSet<PhantomPinned>>();
}

#[test]
fn task_api_futures_are_send() {
    let mut set: JoinSet<u8> = JoinSet::new();
    assert_send_val(&set.join_next());
    assert_send_val(&set.shutdown());
    assert_send_val(&task::yield_now());
    assert_send_val(&task::consume_budget());
    assert_send_val(&task::unconstrained(async {}));
}

fn spawned_bounds<F>(_: F)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
}

#[test]
fn spawn_accepts_not_unpin_future() {
    let fut = async {
        let pinned = PhantomPinned;
        task::yield_now().await;
        std::hint::black_box(pinned);
        7
    };
    assert!(!is_unpin_val!(fut), "the test future should be !Unpin");
    spawned_bounds(async {});

    let rt = Builder::new_current_thread().build().unwrap();
    let out = rt.block_on(async move { runtime::spawn(fut).await.unwrap() });
    assert_eq!(out, 7);

    // And through every other spawn entry point.
    let not_unpin = || async {
        let pinned = PhantomPinned;
        task::yield_now().await;
        std::hint::black_box(pinned);
        1u32
    };
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let sum = rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(not_unpin());
        set.spawn_on(not_unpin(), &Handle::current());
        let mut sum = rt.spawn(not_unpin()).await.unwrap();
        sum += Handle::current().spawn(not_unpin()).await.unwrap();
        sum += task::Builder::new()
            .name("pinned")
            .spawn(not_unpin())
            .unwrap()
            .await
            .unwrap();
        while let Some(r) = set.join_next().await {
            sum += r.unwrap();
        }
        sum
    });
    assert_eq!(sum, 5);
}

#[test]
fn spawn_accepts_send_but_not_sync_state() {
    // A Cell (Send + !Sync) held across an await: spawn requires Send only.
    let fut = async {
        let c = Cell::new(1);
        task::yield_now().await;
        c.set(c.get() + 1);
        c.get()
    };
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    assert_eq!(
        rt.block_on(async move { runtime::spawn(fut).await.unwrap() }),
        2
    );
}
