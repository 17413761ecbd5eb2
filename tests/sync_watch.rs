//! Integration tests of `runtime::sync::watch` on both runtime flavors: `changed` /
//! `borrow` / `borrow_and_update` semantics, `send_if_modified` returning `false` notifying
//! nobody, `wait_for`, the end of `changed()` after the last sender drops (only once the last
//! change is seen), sends without receivers (`send` fails, `send_replace` / `send_modify`
//! still update), `mark_changed` / `mark_unchanged`, cancel safety of `changed()`,
//! `Sender::closed` and the counts, many receivers on the multi-thread flavor, and
//! `Send`/`Sync` of every handle.

mod support;

use futures::FutureExt;
use runtime::sync::watch::{self, error::SendError};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use support::{build, multi_thread, watchdog, Flavor};

/// Runs `f` on a fresh runtime of each flavor, under a hang detector.
fn on_both(name: &'static str, f: impl Fn(Flavor) + Send + Sync + 'static) {
    let f = Arc::new(f);
    for flavor in Flavor::BOTH {
        let f = f.clone();
        watchdog(&format!("{name} ({flavor:?})"), 60, move || f(flavor));
    }
}

#[test]
fn changed_and_borrow_and_update() {
    on_both("changed_and_borrow_and_update", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0u32);
            assert!(
                !rx.has_changed().unwrap(),
                "the initial value counts as seen"
            );
            tx.send(1).unwrap();
            tx.send(2).unwrap(); // overwrites 1: receivers only see the newest
            assert!(rx.borrow().has_changed());
            assert_eq!(*rx.borrow(), 2);
            assert!(rx.has_changed().unwrap(), "borrow does not mark seen");
            rx.changed().await.unwrap();
            assert!(!rx.has_changed().unwrap(), "changed marks seen");
            assert!(!rx.borrow_and_update().has_changed());

            let waiter = runtime::spawn(async move {
                rx.changed().await.unwrap();
                let v = *rx.borrow_and_update();
                (v, rx)
            });
            runtime::task::yield_now().await;
            tx.send(3).unwrap();
            let (v, rx) = waiter.await.unwrap();
            assert_eq!(v, 3);
            assert!(!rx.has_changed().unwrap());
        });
    });
}

#[test]
fn send_if_modified_false_does_not_notify() {
    on_both("send_if_modified_false_does_not_notify", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0);
            let woke = Arc::new(AtomicBool::new(false));
            let waiter = {
                let woke = woke.clone();
                runtime::spawn(async move {
                    rx.changed().await.unwrap();
                    woke.store(true, SeqCst);
                    *rx.borrow_and_update()
                })
            };
            runtime::task::yield_now().await;
            let modified = tx.send_if_modified(|v| {
                *v = 10; // changed in place, but reported as unmodified
                false
            });
            assert!(!modified);
            for _ in 0..20 {
                runtime::task::yield_now().await;
            }
            assert!(!woke.load(SeqCst), "an unmodified send woke a receiver");
            assert!(tx.send_if_modified(|v| {
                *v += 1;
                true
            }));
            assert_eq!(waiter.await.unwrap(), 11);
        });
    });
}

#[test]
fn wait_for_a_predicate() {
    on_both("wait_for_a_predicate", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0);
            // Already true: returns at once with the current value.
            assert_eq!(*rx.wait_for(|v| *v == 0).await.unwrap(), 0);

            let sender = runtime::spawn(async move {
                for i in 1..=10 {
                    tx.send(i).unwrap();
                    runtime::task::yield_now().await;
                }
                tx
            });
            {
                let seen = rx.wait_for(|v| *v >= 5).await.unwrap();
                assert!(*seen >= 5);
            }
            let tx = sender.await.unwrap();
            assert_eq!(*rx.wait_for(|v| *v == 10).await.unwrap(), 10);

            // The final value gets a last look once the sender is gone...
            tx.send(20).unwrap();
            drop(tx);
            let seen = rx.wait_for(|v| *v == 20).await.unwrap();
            assert!(seen.has_changed());
            drop(seen);
            // ...and a predicate that never holds then ends with an error.
            assert!(rx.wait_for(|v| *v == 99).await.is_err());
        });
    });
}

#[test]
fn sender_drop_ends_changed_after_the_last_change_is_seen() {
    on_both("sender_drop_ends_changed", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = watch::channel("a");
            let tx2 = tx.clone();
            tx.send("b").unwrap();
            drop(tx);
            drop(tx2);
            assert!(rx.has_changed().is_err());
            assert!(rx.changed().await.is_ok(), "the pending change comes first");
            assert_eq!(*rx.borrow_and_update(), "b");
            let err = rx.changed().await.unwrap_err();
            assert_eq!(err.to_string(), "channel closed");

            // A receiver already waiting is woken by the drop in another task.
            let (tx, mut rx) = watch::channel(());
            let waiter = runtime::spawn(async move { rx.changed().await });
            runtime::task::yield_now().await;
            runtime::spawn(async move { drop(tx) }).await.unwrap();
            assert!(waiter.await.unwrap().is_err());
        });
    });
}

#[test]
fn without_receivers_send_fails_but_replace_and_modify_update() {
    let (tx, rx) = watch::channel(1);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(*tx.borrow(), 1, "a failed send stores nothing");
    assert_eq!(tx.send_replace(3), 1);
    tx.send_modify(|v| *v *= 10);
    assert_eq!(*tx.borrow(), 30);
    assert!(!tx.borrow().has_changed());
    // A later subscriber sees the current value, as seen.
    let rx = tx.subscribe();
    assert_eq!(*rx.borrow(), 30);
    assert!(!rx.has_changed().unwrap());
    assert!(!tx.is_closed());
}

#[test]
fn mark_changed_and_mark_unchanged() {
    on_both("mark_changed_and_mark_unchanged", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0);
            rx.mark_changed();
            assert!(rx.has_changed().unwrap());
            assert!(rx.borrow().has_changed());
            rx.changed().await.unwrap(); // at once
            assert!(rx.changed().now_or_never().is_none(), "nothing new");

            tx.send(1).unwrap();
            rx.mark_unchanged();
            assert!(rx.changed().now_or_never().is_none());
            assert_eq!(*rx.borrow(), 1);

            // A forged change is reported even after the sender is gone, then the error.
            rx.mark_changed();
            drop(tx);
            assert!(rx.changed().await.is_ok());
            assert!(rx.changed().await.is_err());
        });
    });
}

#[test]
fn a_cancelled_changed_loses_nothing() {
    on_both("a_cancelled_changed_loses_nothing", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0);
            for _ in 0..10 {
                assert!(rx.changed().now_or_never().is_none()); // polled once, dropped
            }
            tx.send(1).unwrap();
            assert!(rx.changed().now_or_never().is_some_and(|r| r.is_ok()));
            // Cancelled while waiting, then a change: the next call reports it.
            let mut pending = Box::pin(rx.changed());
            assert!((&mut pending).now_or_never().is_none());
            tx.send(2).unwrap();
            drop(pending);
            assert!(rx.has_changed().unwrap());
            rx.changed().await.unwrap();
            assert_eq!(*rx.borrow(), 2);
        });
    });
}

#[test]
fn sender_closed_and_counts() {
    on_both("sender_closed_and_counts", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, rx) = watch::channel(());
            let tx2 = tx.clone();
            assert_eq!((tx.sender_count(), tx.receiver_count()), (2, 1));
            let rx2 = rx.clone();
            assert_eq!(tx2.receiver_count(), 2);
            assert!(tx.same_channel(&tx2) && rx.same_channel(&rx2));
            let waiter = runtime::spawn(async move {
                tx2.closed().await;
                tx2.is_closed()
            });
            runtime::task::yield_now().await;
            drop(rx);
            runtime::spawn(async move { drop(rx2) }).await.unwrap();
            assert!(waiter.await.unwrap());
            assert_eq!((tx.sender_count(), tx.receiver_count()), (1, 0));
            tx.closed().await; // at once

            let tx = watch::Sender::new(5);
            assert!(tx.is_closed());
            assert_eq!(*tx.subscribe().borrow(), 5);
        });
    });
}

#[test]
fn many_receivers_on_the_multi_thread_flavor_see_the_last_value() {
    watchdog("many_receivers_see_the_last_value", 60, || {
        const N: u64 = 5_000;
        let rt = multi_thread(4);
        rt.block_on(async {
            let (tx, rx) = watch::channel(0u64);
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let mut rx = rx.clone();
                    runtime::spawn(async move {
                        let mut last = 0;
                        while rx.changed().await.is_ok() {
                            let v = *rx.borrow_and_update();
                            assert!(v > last, "values go forward: {last} then {v}");
                            last = v;
                        }
                        last
                    })
                })
                .collect();
            drop(rx);
            let sender = runtime::spawn(async move {
                for i in 1..=N {
                    tx.send(i).unwrap();
                    if i % 32 == 0 {
                        runtime::task::yield_now().await;
                    }
                }
            });
            sender.await.unwrap();
            for task in tasks {
                assert_eq!(task.await.unwrap(), N, "the last value was missed");
            }
        });
    });
}

#[test]
fn handles_are_send_sync_and_debug() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<watch::Sender<String>>();
    assert_send_sync::<watch::Receiver<String>>();
    assert_send_sync::<watch::error::RecvError>();
    assert_send_sync::<SendError<String>>();
    fn assert_sync<T: Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let (tx, mut rx) = watch::channel(String::new());
    assert_sync(&rx.borrow()); // a Ref is Sync (and, as in Tokio, not Send)
    assert_send(&rx.changed());
    assert_send(&tx.closed());
    let debug = format!("{tx:?} {rx:?} {:?}", rx.borrow());
    assert!(
        debug.contains("Sender") && debug.contains("Receiver"),
        "{debug}"
    );
}
