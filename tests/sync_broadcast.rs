//! Integration tests of `runtime::sync::broadcast` on both runtime flavors: ordered delivery
//! to several receivers, exact `Lagged(n)` counts (also under concurrency, many receivers on
//! the multi-thread flavor), `resubscribe`, sends without receivers, closing once the senders
//! are gone and the queue is drained, `len` / `receiver_count` accounting, values dropped as
//! soon as no receiver needs them, `Sender::closed`, `blocking_recv` (from a thread, and its
//! panic inside a runtime), cancel safety of `recv`, the cooperative budget, capacity 0, and
//! `Send`/`Sync` of the handles.

mod support;

use futures::FutureExt;
use runtime::sync::broadcast::{
    self,
    error::{RecvError, SendError, TryRecvError},
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use support::{build, multi_thread, panic_payload_str, watchdog, CountDrop, Flavor};

/// Runs `f` on a fresh runtime of each flavor, under a hang detector.
fn on_both(name: &'static str, f: impl Fn(Flavor) + Send + Sync + 'static) {
    let f = Arc::new(f);
    for flavor in Flavor::BOTH {
        let f = f.clone();
        watchdog(&format!("{name} ({flavor:?})"), 60, move || f(flavor));
    }
}

#[test]
fn every_receiver_gets_every_value_in_order() {
    on_both("every_receiver_gets_every_value_in_order", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            const N: u32 = 200;
            let (tx, rx) = broadcast::channel(256);
            let mut receivers = vec![rx];
            receivers.extend((0..3).map(|_| tx.subscribe()));
            let tasks: Vec<_> = receivers
                .into_iter()
                .map(|mut rx| {
                    runtime::spawn(async move {
                        let mut got = Vec::new();
                        loop {
                            match rx.recv().await {
                                Ok(v) => got.push(v),
                                Err(RecvError::Closed) => return got,
                                Err(e) => panic!("unexpected {e:?}"),
                            }
                        }
                    })
                })
                .collect();
            for i in 0..N {
                assert_eq!(tx.send(i), Ok(4));
                if i % 16 == 0 {
                    runtime::task::yield_now().await;
                }
            }
            drop(tx);
            for task in tasks {
                assert_eq!(
                    task.await.unwrap(),
                    (0..N).collect::<Vec<_>>(),
                    "{flavor:?}"
                );
            }
        });
    });
}

#[test]
fn lagged_reports_exact_counts_then_resumes_at_the_oldest() {
    on_both("lagged_reports_exact_counts", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            // Capacity 3 rounds up to 4.
            let (tx, mut slow) = broadcast::channel(3);
            let mut fast = tx.subscribe();
            for i in 0..10 {
                tx.send(i).unwrap();
                assert_eq!(
                    fast.recv().await,
                    Ok(i),
                    "a receiver that keeps up never lags"
                );
            }
            assert_eq!(slow.len(), 10);
            assert_eq!(slow.recv().await, Err(RecvError::Lagged(6)));
            assert_eq!(slow.len(), 4);
            for i in 6..10 {
                assert_eq!(slow.recv().await, Ok(i));
            }
            // Lagging again, by one, reported once.
            for i in 10..15 {
                tx.send(i).unwrap();
            }
            assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(1)));
            assert_eq!(slow.try_recv(), Ok(11));
            assert_eq!(slow.recv().await, Ok(12));
            assert_eq!(RecvError::Lagged(6).to_string(), "channel lagged by 6");
        });
    });
}

#[test]
fn resubscribe_starts_at_the_next_value() {
    on_both("resubscribe_starts_at_the_next_value", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = broadcast::channel(8);
            tx.send("before").unwrap();
            let mut rx2 = rx.resubscribe();
            assert!(rx2.same_channel(&rx));
            assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
            let waiter = runtime::spawn(async move { rx2.recv().await });
            runtime::task::yield_now().await;
            tx.send("after").unwrap();
            assert_eq!(waiter.await.unwrap(), Ok("after"));
            assert_eq!(rx.recv().await, Ok("before"));
            assert_eq!(rx.recv().await, Ok("after"));
            // Resubscribing a closed channel gives a receiver that is closed at once.
            drop(tx);
            let mut rx3 = rx.resubscribe();
            assert_eq!(rx3.recv().await, Err(RecvError::Closed));
        });
    });
}

#[test]
fn send_without_receivers_returns_the_value() {
    let (tx, rx) = broadcast::channel(4);
    drop(rx);
    assert_eq!(
        tx.send(String::from("lost")),
        Err(SendError(String::from("lost")))
    );
    assert_eq!(SendError(1).to_string(), "channel closed");
    assert_eq!(tx.len(), 0);
    // A new subscriber makes sends succeed again, from its subscription on.
    let mut rx = tx.subscribe();
    assert_eq!(tx.send(String::from("kept")), Ok(1));
    assert_eq!(rx.try_recv().as_deref(), Ok("kept"));
}

#[test]
fn closed_only_after_the_queue_is_drained() {
    on_both("closed_only_after_the_queue_is_drained", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = broadcast::channel(8);
            let tx2 = tx.clone();
            for i in 0..3 {
                tx.send(i).unwrap();
            }
            drop(tx);
            assert!(!rx.is_closed(), "tx2 is alive");
            drop(tx2);
            assert!(rx.is_closed());
            for i in 0..3 {
                assert_eq!(rx.recv().await, Ok(i));
            }
            assert_eq!(rx.recv().await, Err(RecvError::Closed));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

            // A receiver already waiting is woken by the last sender's drop in another task.
            let (tx, mut rx) = broadcast::channel::<u8>(8);
            let waiter = runtime::spawn(async move { rx.recv().await });
            runtime::task::yield_now().await;
            runtime::spawn(async move { drop(tx) }).await.unwrap();
            assert_eq!(waiter.await.unwrap(), Err(RecvError::Closed));
        });
    });
}

#[test]
fn len_and_receiver_count_accounting() {
    let (tx, mut rx1) = broadcast::channel(4);
    assert_eq!((tx.len(), tx.receiver_count()), (0, 1));
    let mut rx2 = tx.subscribe();
    assert_eq!(tx.receiver_count(), 2);
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    assert_eq!((tx.len(), rx1.len(), rx2.len()), (3, 3, 3));
    rx1.try_recv().unwrap();
    rx1.try_recv().unwrap();
    assert_eq!((tx.len(), rx1.len(), rx2.len()), (3, 1, 3));
    rx2.try_recv().unwrap();
    assert_eq!(tx.len(), 2, "both have the first");
    drop(rx2);
    assert_eq!((tx.len(), tx.receiver_count()), (1, 1));
    // Overflowing keeps len at the capacity.
    for i in 0..10 {
        tx.send(i).unwrap();
    }
    assert_eq!((tx.len(), rx1.len()), (4, 11));
    assert!(!tx.is_empty() && !rx1.is_empty());
    drop(rx1);
    assert_eq!((tx.len(), tx.receiver_count()), (0, 0));
    assert!(tx.is_empty());
}

#[test]
fn values_are_dropped_once_no_receiver_needs_them() {
    on_both("values_are_dropped_once_no_receiver_needs_them", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let value = || Arc::new(CountDrop(drops.clone()));
            let (tx, mut rx1) = broadcast::channel(4);
            let mut rx2 = tx.subscribe();
            tx.send(value()).unwrap();
            tx.send(value()).unwrap();
            drop(rx1.recv().await.unwrap());
            assert_eq!(drops.load(SeqCst), 0, "rx2 still needs it");
            drop(rx2.recv().await.unwrap());
            assert_eq!(drops.load(SeqCst), 1, "received by everyone: dropped");
            drop(rx2); // releases its claim on the second value
            assert_eq!(drops.load(SeqCst), 1, "rx1 still needs the second");
            // Overwriting drops the oldest value.
            for _ in 0..4 {
                tx.send(value()).unwrap();
            }
            assert_eq!(drops.load(SeqCst), 2, "the second was overwritten");
            assert!(matches!(rx1.recv().await, Err(RecvError::Lagged(1))));
            drop(rx1);
            assert_eq!(drops.load(SeqCst), 6, "no receiver left: all dropped");
            let refused = tx.send(value()).unwrap_err();
            assert_eq!(
                drops.load(SeqCst),
                6,
                "a refused value is handed back intact"
            );
            drop(refused);
            assert_eq!(drops.load(SeqCst), 7);
        });
    });
}

#[test]
fn blocking_recv_from_a_thread() {
    on_both("blocking_recv_from_a_thread", |flavor| {
        let rt = build(flavor);
        let (tx, mut rx) = broadcast::channel(4);
        let thread = std::thread::spawn(move || {
            let first = rx.blocking_recv();
            let second = rx.blocking_recv();
            (first, second)
        });
        rt.block_on(async move {
            runtime::task::yield_now().await;
            tx.send(1u8).unwrap();
            runtime::spawn(async move { drop(tx) }).await.unwrap();
        });
        assert_eq!(thread.join().unwrap(), (Ok(1), Err(RecvError::Closed)));

        // From spawn_blocking (not a runtime thread) it is allowed too.
        let (tx, mut rx) = broadcast::channel(4);
        let res = rt.block_on(async move {
            let blocking = runtime::task::spawn_blocking(move || rx.blocking_recv());
            tx.send(3).unwrap();
            blocking.await.unwrap()
        });
        assert_eq!(res, Ok(3));
    });
}

fn assert_blocking_recv_message(payload: &(dyn std::any::Any + Send)) {
    let msg = panic_payload_str(payload).expect("a string panic message");
    assert!(msg.contains("broadcast::Receiver::blocking_recv"), "{msg}");
    assert!(msg.contains(".await"), "{msg}");
}

#[test]
fn blocking_recv_inside_a_runtime_panics() {
    on_both("blocking_recv_inside_a_runtime_panics", |flavor| {
        let rt = build(flavor);
        let (tx, mut rx) = broadcast::channel::<u8>(4);
        let payload = rt
            .block_on(async { catch_unwind(AssertUnwindSafe(|| rx.blocking_recv())) })
            .unwrap_err();
        assert_blocking_recv_message(&*payload);

        let join = rt.block_on(rt.spawn(async move {
            let _ = rx.blocking_recv();
        }));
        let err = join.unwrap_err();
        assert!(err.is_panic());
        assert_blocking_recv_message(&*err.into_panic());
        drop(tx);
    });
}

#[test]
fn many_receivers_on_the_multi_thread_flavor_account_for_every_value() {
    watchdog("many_receivers", 60, || {
        const N: u64 = 20_000;
        const RECEIVERS: usize = 16;
        let rt = multi_thread(4);
        rt.block_on(async {
            // A small capacity: receivers lag, and every value is either received (in order)
            // or counted in a Lagged(n).
            let (tx, rx) = broadcast::channel::<u64>(8);
            let mut receivers = vec![rx];
            receivers.extend((1..RECEIVERS).map(|_| tx.subscribe()));
            let tasks: Vec<_> = receivers
                .into_iter()
                .map(|mut rx| {
                    runtime::spawn(async move {
                        let (mut expected, mut received, mut lagged) = (0u64, 0u64, 0u64);
                        loop {
                            match rx.recv().await {
                                Ok(v) => {
                                    assert_eq!(v, expected, "out of order");
                                    expected += 1;
                                    received += 1;
                                }
                                Err(RecvError::Lagged(n)) => {
                                    assert!(n > 0);
                                    expected += n;
                                    lagged += n;
                                }
                                Err(RecvError::Closed) => return (expected, received, lagged),
                            }
                        }
                    })
                })
                .collect();
            let sender = runtime::spawn(async move {
                for i in 0..N {
                    tx.send(i).unwrap();
                    if i % 64 == 0 {
                        runtime::task::yield_now().await;
                    }
                }
            });
            sender.await.unwrap();
            for task in tasks {
                let (expected, received, lagged) = task.await.unwrap();
                assert_eq!(expected, N);
                assert_eq!(received + lagged, N);
                assert!(
                    received >= 8,
                    "at least the last capacity's worth is received"
                );
            }
        });
    });
}

#[test]
fn sender_closed_completes_when_every_receiver_is_gone() {
    on_both("sender_closed_completes", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, rx) = broadcast::channel::<u8>(4);
            let rx2 = tx.subscribe();
            let done = Arc::new(AtomicBool::new(false));
            let waiter = {
                let (tx, done) = (tx.clone(), done.clone());
                runtime::spawn(async move {
                    tx.closed().await;
                    done.store(true, SeqCst);
                })
            };
            runtime::task::yield_now().await;
            drop(rx);
            runtime::task::yield_now().await;
            assert!(!done.load(SeqCst), "rx2 is alive");
            runtime::spawn(async move { drop(rx2) }).await.unwrap();
            waiter.await.unwrap();
            assert!(done.load(SeqCst));
            tx.closed().await; // at once
        });
    });
}

#[test]
fn a_cancelled_recv_loses_nothing() {
    on_both("a_cancelled_recv_loses_nothing", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = broadcast::channel(4);
            for _ in 0..10 {
                // Polled once (registers), then dropped.
                assert!(rx.recv().now_or_never().is_none());
            }
            tx.send(5).unwrap();
            tx.send(6).unwrap();
            assert_eq!(rx.recv().now_or_never(), Some(Ok(5)));
            assert_eq!(rx.recv().await, Ok(6));
        });
    });
}

#[test]
fn recv_spends_coop_budget() {
    watchdog("recv_spends_coop_budget", 60, || {
        let rt = build(Flavor::Current);
        rt.block_on(async {
            let (tx, mut rx) = broadcast::channel(1024);
            for i in 0..1000u32 {
                tx.send(i).unwrap();
            }
            let other_ran = Arc::new(AtomicBool::new(false));
            let flag = other_ran.clone();
            let looper = runtime::spawn(async move {
                let mut seen_at = None;
                for i in 0..1000 {
                    assert_eq!(rx.recv().await, Ok(i));
                    if seen_at.is_none() && flag.load(SeqCst) {
                        seen_at = Some(i);
                    }
                }
                seen_at
            });
            let flag = other_ran.clone();
            let other = runtime::spawn(async move { flag.store(true, SeqCst) });
            let seen_at = looper.await.unwrap();
            other.await.unwrap();
            assert!(
                seen_at.is_some(),
                "the other task ran while values were ready"
            );
        });
    });
}

#[test]
fn zero_capacity_panics_with_a_clear_message() {
    let payload = catch_unwind(|| broadcast::channel::<u8>(0)).unwrap_err();
    let msg = panic_payload_str(&*payload).unwrap();
    assert!(msg.contains("capacity cannot be zero"), "{msg}");
}

#[test]
fn weak_sender_upgrades_only_while_a_sender_lives() {
    let (tx, mut rx) = broadcast::channel(4);
    let weak = tx.downgrade();
    weak.upgrade().unwrap().send(1).unwrap();
    assert!(!rx.is_closed(), "the upgraded sender was dropped, tx lives");
    drop(tx);
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn handles_are_send_sync_and_debug() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<broadcast::Sender<String>>();
    assert_send_sync::<broadcast::WeakSender<String>>();
    assert_send_sync::<broadcast::Receiver<String>>();
    assert_send_sync::<RecvError>();
    assert_send_sync::<TryRecvError>();
    assert_send_sync::<SendError<String>>();
    fn assert_send<T: Send>(_: &T) {}
    let (tx, mut rx) = broadcast::channel::<String>(4);
    assert_send(&rx.recv());
    assert_send(&tx.closed());
    let debug = format!("{tx:?} {:?} {rx:?}", tx.downgrade());
    assert!(
        debug.contains("Sender") && debug.contains("Receiver"),
        "{debug}"
    );
}
