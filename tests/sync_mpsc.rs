//! Integration tests of `runtime::sync::mpsc` (bounded and unbounded) on both runtime
//! flavors: per-sender ordering with many producers, closing semantics (close with buffered
//! messages and outstanding permits, all senders dropped, weak senders), the error values,
//! capacity accounting across reserve/send/recv/permit drop, fairness of waiting senders,
//! `blocking_send` / `blocking_recv` from plain threads and their panics inside a runtime,
//! cancel safety of send/reserve/recv, `recv_many`, the `channel(0)` panic, values dropped
//! with the channel, the cooperative budget spent by `recv`, and Send/Sync of the handles.

mod support;

use futures::FutureExt;
use runtime::sync::mpsc::{
    self,
    error::{SendError, TryRecvError, TrySendError},
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use support::{build, panic_payload_str, watchdog, CountDrop, Flavor};

/// Runs `f` on a fresh runtime of each flavor, under a hang detector.
fn on_both(name: &'static str, f: impl Fn(Flavor) + Send + Sync + 'static) {
    let f = Arc::new(f);
    for flavor in Flavor::BOTH {
        let f = f.clone();
        watchdog(&format!("{name} ({flavor:?})"), 60, move || f(flavor));
    }
}

/// Checks that every producer's messages arrived exactly once and in its sending order.
fn check_per_sender_order(got: &[(usize, usize)], producers: usize, per: usize) {
    let mut next = vec![0; producers];
    for &(p, i) in got {
        assert_eq!(i, next[p], "producer {p}: out of order or duplicated");
        next[p] += 1;
    }
    assert_eq!(next, vec![per; producers], "messages lost");
}

#[test]
fn bounded_many_producers_keep_per_sender_order() {
    on_both("bounded_many_producers", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(16);
            for p in 0..8 {
                let tx = tx.clone();
                runtime::spawn(async move {
                    for i in 0..1000 {
                        tx.send((p, i)).await.unwrap();
                    }
                });
            }
            drop(tx);
            let mut got = Vec::new();
            while let Some(m) = rx.recv().await {
                got.push(m);
            }
            check_per_sender_order(&got, 8, 1000);
            assert_eq!(rx.capacity(), 16, "every slot is back");
        });
    });
}

#[test]
fn unbounded_many_producers_keep_per_sender_order() {
    on_both("unbounded_many_producers", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::unbounded_channel();
            for p in 0..8 {
                let tx = tx.clone();
                runtime::spawn(async move {
                    for i in 0..1000 {
                        tx.send((p, i)).unwrap();
                        if i % 100 == 0 {
                            runtime::task::yield_now().await;
                        }
                    }
                });
            }
            drop(tx);
            let mut got = Vec::new();
            let mut buf = Vec::new();
            while rx.recv_many(&mut buf, 64).await > 0 {
                got.append(&mut buf);
            }
            check_per_sender_order(&got, 8, 1000);
        });
    });
}

#[test]
fn producers_on_plain_threads_with_blocking_send() {
    watchdog("blocking_send producers", 60, || {
        let rt = build(Flavor::Multi);
        let (tx, mut rx) = mpsc::channel(4);
        let threads: Vec<_> = (0..4)
            .map(|p| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        tx.blocking_send((p, i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let got = rt.block_on(async move {
            let mut got = Vec::new();
            while let Some(m) = rx.recv().await {
                got.push(m);
            }
            got
        });
        check_per_sender_order(&got, 4, 500);
        threads.into_iter().for_each(|t| t.join().unwrap());
    });
}

#[test]
fn blocking_recv_on_plain_thread() {
    watchdog("blocking_recv", 30, || {
        let rt = build(Flavor::Multi);
        let (tx, mut rx) = mpsc::channel(2);
        let (utx, mut urx) = mpsc::unbounded_channel();
        let t = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Some(v) = rx.blocking_recv() {
                got.push(v);
                utx.send(v).unwrap();
            }
            got
        });
        rt.block_on(async move {
            for i in 0..100 {
                tx.send(i).await.unwrap();
            }
        });
        assert_eq!(t.join().unwrap(), (0..100).collect::<Vec<_>>());
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            while urx.blocking_recv().is_some() {
                n += 1;
            }
            n
        });
        assert_eq!(thread.join().unwrap(), 100);
    });
}

#[test]
fn blocking_calls_inside_runtime_panic() {
    let rt = build(Flavor::Current);
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let (_utx, mut urx) = mpsc::unbounded_channel::<u8>();
    rt.block_on(async {
        let err = catch_unwind(AssertUnwindSafe(|| tx.blocking_send(1))).unwrap_err();
        let msg = panic_payload_str(&*err).unwrap();
        assert!(
            msg.contains("Cannot call `mpsc::Sender::blocking_send` from within a runtime"),
            "{msg}"
        );
        let err = catch_unwind(AssertUnwindSafe(|| rx.blocking_recv())).unwrap_err();
        let msg = panic_payload_str(&*err).unwrap();
        assert!(msg.contains("`mpsc::Receiver::blocking_recv`"), "{msg}");
        let err = catch_unwind(AssertUnwindSafe(|| urx.blocking_recv())).unwrap_err();
        let msg = panic_payload_str(&*err).unwrap();
        assert!(
            msg.contains("`mpsc::UnboundedReceiver::blocking_recv`"),
            "{msg}"
        );
    });
    // Nothing was sent or lost by the panicking call.
    assert_eq!(tx.capacity(), 1);
}

#[test]
fn close_with_buffered_messages_and_permits() {
    on_both("close_with_buffered", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(4);
            tx.send(1).await.unwrap();
            tx.send(2).await.unwrap();
            let permit = tx.clone().reserve_owned().await.unwrap();
            rx.close();
            assert!(tx.is_closed() && rx.is_closed());
            assert_eq!(tx.send(3).await, Err(SendError(3)));
            assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
            assert!(tx.reserve().await.is_err());
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, Some(2));
            // The permit reserved before the close may still send: the receiver waits for it.
            let sender = runtime::spawn(async move {
                runtime::task::yield_now().await;
                drop(permit.send(5));
            });
            assert_eq!(rx.recv().await, Some(5));
            sender.await.unwrap();
            assert_eq!(rx.recv().await, None);
            assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
            drop(tx);

            let (utx, mut urx) = mpsc::unbounded_channel();
            utx.send(1).unwrap();
            urx.close();
            assert_eq!(utx.send(2), Err(SendError(2)));
            assert_eq!(urx.recv().await, Some(1));
            assert_eq!(urx.recv().await, None);
        });
    });
}

#[test]
fn none_only_after_all_senders_dropped_and_drained() {
    on_both("none_after_senders_dropped", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(8);
            let tx2 = tx.clone();
            tx.send(1).await.unwrap();
            drop(tx);
            assert!(!rx.is_closed());
            assert_eq!(rx.sender_strong_count(), 1);
            let late = runtime::spawn(async move {
                runtime::task::yield_now().await;
                tx2.send(2).await.unwrap();
            });
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, Some(2));
            assert_eq!(rx.recv().await, None);
            assert!(rx.is_closed());
            late.await.unwrap();
        });
    });
}

#[test]
fn weak_senders_do_not_keep_the_channel_open() {
    on_both("weak_senders", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<u8>(2);
            let weak = tx.downgrade();
            assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
            let upgraded = weak.upgrade().unwrap();
            assert!(upgraded.same_channel(&tx));
            upgraded.send(1).await.unwrap();
            drop(upgraded);
            drop(tx);
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, None, "only a weak sender is left");
            assert!(weak.upgrade().is_none());
            assert_eq!(rx.sender_weak_count(), 1);

            let (utx, mut urx) = mpsc::unbounded_channel::<u8>();
            let uweak = utx.downgrade();
            drop(utx);
            assert!(uweak.upgrade().is_none());
            assert_eq!(urx.recv().await, None);
        });
    });
}

#[test]
fn error_values_and_messages() {
    let (tx, mut rx) = mpsc::channel(1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send("a").unwrap();
    let full = tx.try_send("b").unwrap_err();
    assert_eq!(full, TrySendError::Full("b"));
    assert_eq!(format!("{full:?}"), "Full(..)");
    assert_eq!(full.to_string(), "no available capacity");
    assert_eq!(full.into_inner(), "b");
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
    assert_eq!(rx.try_recv(), Ok("a"));
    drop(rx);
    let closed = tx.try_send("c").unwrap_err();
    assert_eq!(closed, TrySendError::Closed("c"));
    assert_eq!(closed.to_string(), "channel closed");
    let err = tx.blocking_send("d").unwrap_err();
    assert_eq!(err.0, "d", "SendError hands the value back");
    assert_eq!(format!("{err:?}"), "SendError { .. }");
    assert_eq!(err.to_string(), "channel closed");
    let tx = match tx.try_reserve_owned() {
        Err(TrySendError::Closed(tx)) => tx,
        other => panic!("expected Closed(sender), got {:?}", other.map(|_| ())),
    };
    drop(tx);

    let (utx, mut urx) = mpsc::unbounded_channel::<u8>();
    drop(utx);
    let e = urx.try_recv().unwrap_err();
    assert_eq!(e, TryRecvError::Disconnected);
    assert_eq!(e.to_string(), "receiving on a closed channel");
    assert_eq!(
        TryRecvError::Empty.to_string(),
        "receiving on an empty channel"
    );
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(SendError(1u8));
    assert_eq!(boxed.to_string(), "channel closed");
    assert_eq!(
        TrySendError::from(SendError(7u8)),
        TrySendError::Closed(7u8)
    );
}

#[test]
fn capacity_accounting() {
    on_both("capacity_accounting", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(3);
            assert_eq!((tx.capacity(), tx.max_capacity()), (3, 3));
            let p1 = tx.reserve().await.unwrap();
            assert_eq!(tx.capacity(), 2);
            tx.send(1).await.unwrap();
            assert_eq!(tx.capacity(), 1);
            assert_eq!(rx.len(), 1);
            p1.send(2);
            assert_eq!(tx.capacity(), 1, "the sent permit's slot stays taken");
            let p3 = tx.clone().reserve_owned().await.unwrap();
            assert_eq!(tx.capacity(), 0);
            assert_eq!(rx.capacity(), 0);
            drop(p3);
            assert_eq!(tx.capacity(), 1, "a dropped permit gives its slot back");
            let p4 = tx.clone().try_reserve_owned().unwrap();
            let tx4 = p4.release();
            assert_eq!(tx4.capacity(), 1);
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(tx.capacity(), 2, "a received message gives its slot back");
            assert_eq!(rx.recv().await, Some(2));
            assert_eq!(tx.capacity(), 3);
            assert!(rx.is_empty());
            assert_eq!(rx.max_capacity(), 3);
        });
    });
}

#[test]
fn waiting_senders_are_served_in_order() {
    on_both("fairness", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<usize>(1);
            tx.send(usize::MAX).await.unwrap();
            // Five senders queue up, in this order.
            let mut sends: Vec<_> = (0..5).map(|i| Box::pin(tx.send(i))).collect();
            for send in &mut sends {
                assert!(futures::poll!(send.as_mut()).is_pending());
            }
            assert_eq!(rx.recv().await, Some(usize::MAX));
            // The freed slot belongs to the oldest waiter: a newcomer cannot take it.
            assert_eq!(tx.try_send(99), Err(TrySendError::Full(99)));
            for i in 0..5 {
                for later in &mut sends[i + 1..] {
                    assert!(
                        futures::poll!(later.as_mut()).is_pending(),
                        "{i}: overtaken"
                    );
                }
                assert_eq!(
                    futures::poll!(sends[i].as_mut()),
                    std::task::Poll::Ready(Ok(()))
                );
                assert_eq!(rx.recv().await, Some(i), "FIFO order of waiting senders");
            }
            assert_eq!(tx.capacity(), 1);
        });
    });
}

/// Many tasks wait for capacity on a multi-thread runtime: each task's messages arrive in
/// its order and nobody starves.
#[test]
fn contended_waiting_senders_all_complete() {
    on_both("contended_waiters", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            let handles: Vec<_> = (0..16)
                .map(|p| {
                    let tx = tx.clone();
                    runtime::spawn(async move {
                        for i in 0..200 {
                            tx.send((p, i)).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut got = Vec::new();
            while let Some(m) = rx.recv().await {
                got.push(m);
            }
            check_per_sender_order(&got, 16, 200);
            for h in handles {
                h.await.unwrap();
            }
        });
    });
}

#[test]
fn dropped_send_and_reserve_futures_leak_no_capacity() {
    on_both("cancel_send_reserve", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            tx.send(0).await.unwrap();
            // Pending send and reserve futures, polled once, then dropped.
            assert!(tx.send(1).now_or_never().is_none());
            assert!(tx.reserve().now_or_never().is_none());
            let waiting = runtime::spawn({
                let tx = tx.clone();
                async move { tx.send(2).await }
            });
            support::yield_until(|| !waiting.is_finished()).await;
            for _ in 0..10 {
                runtime::task::yield_now().await;
            }
            waiting.abort();
            assert!(waiting.await.unwrap_err().is_cancelled());
            assert_eq!(rx.recv().await, Some(0));
            assert_eq!(tx.capacity(), 1, "no slot leaked by the dropped futures");
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            // A reserve future that was granted a slot but dropped before completing.
            let permit = tx.reserve().await.unwrap();
            let mut granted = Box::pin(tx.reserve());
            assert!(futures::poll!(granted.as_mut()).is_pending());
            drop(permit); // the slot goes to the queued future...
            drop(granted); // ...which gives it back
            assert_eq!(tx.capacity(), 1);
            tx.try_send(3).unwrap();
            assert_eq!(rx.recv().await, Some(3));
        });
    });
}

#[test]
fn dropped_recv_future_loses_no_message() {
    on_both("cancel_recv", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(4);
            assert!(rx.recv().now_or_never().is_none());
            // A recv future registered as waiting, then dropped after a send woke it.
            let mut fut = Box::pin(rx.recv());
            assert!(futures::poll!(fut.as_mut()).is_pending());
            tx.send(1).await.unwrap();
            drop(fut);
            assert_eq!(rx.recv().await, Some(1));
            let (utx, mut urx) = mpsc::unbounded_channel::<u32>();
            let mut buf = Vec::new();
            assert!(urx.recv_many(&mut buf, 4).now_or_never().is_none());
            utx.send(5).unwrap();
            assert_eq!(urx.recv().await, Some(5));
        });
    });
}

#[test]
fn recv_many_limits_and_end() {
    on_both("recv_many", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(10);
            for i in 0..7 {
                tx.send(i).await.unwrap();
            }
            let mut buf = vec![100];
            assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
            assert_eq!(rx.recv_many(&mut buf, 3).await, 3);
            assert_eq!(buf, [100, 0, 1, 2]);
            assert_eq!(tx.capacity(), 6);
            assert_eq!(rx.recv_many(&mut buf, 10).await, 4);
            assert_eq!(buf, [100, 0, 1, 2, 3, 4, 5, 6]);
            assert_eq!(tx.capacity(), 10);
            drop(tx);
            assert_eq!(rx.recv_many(&mut buf, 10).await, 0);
        });
    });
}

#[test]
fn channel_zero_panics_with_advice() {
    let err = catch_unwind(|| mpsc::channel::<u8>(0)).unwrap_err();
    let msg = panic_payload_str(&*err).unwrap();
    assert!(
        msg.contains("mpsc bounded channel requires buffer > 0"),
        "{msg}"
    );
    assert!(
        msg.contains("oneshot") && msg.contains("channel(1)"),
        "{msg}"
    );
}

#[test]
fn buffered_values_dropped_with_the_channel() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel(8);
    for _ in 0..5 {
        tx.try_send(CountDrop(drops.clone())).unwrap();
    }
    drop(rx);
    assert_eq!(
        drops.load(SeqCst),
        5,
        "dropping the receiver drops buffered values"
    );
    assert_eq!(tx.capacity(), 8);
    drop(tx);

    let (utx, mut urx) = mpsc::unbounded_channel();
    for _ in 0..5 {
        utx.send(CountDrop(drops.clone())).unwrap();
    }
    drop(urx.try_recv().unwrap()); // takes the whole batch into the receiver's buffer
    drop(utx);
    assert_eq!(drops.load(SeqCst), 6);
    drop(urx);
    assert_eq!(drops.load(SeqCst), 10);

    // A message sent through a permit after the receiver was dropped is dropped with the
    // channel.
    let (tx, rx) = mpsc::channel(1);
    let permit = tx.try_reserve().unwrap();
    drop(rx);
    permit.send(CountDrop(drops.clone()));
    assert_eq!(drops.load(SeqCst), 10);
    drop(tx);
    assert_eq!(drops.load(SeqCst), 11);
}

#[test]
fn a_message_holding_a_sender_of_its_own_channel_is_dropped_without_deadlock() {
    watchdog("self-referential message", 10, || {
        struct Msg(#[allow(dead_code)] mpsc::UnboundedSender<Msg>);
        let (tx, rx) = mpsc::unbounded_channel::<Msg>();
        tx.send(Msg(tx.clone())).unwrap();
        drop(tx);
        drop(rx);
    });
}

#[test]
fn closed_completes_when_receiver_goes() {
    on_both("closed", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<u8>(1);
            let waiter = runtime::spawn({
                let tx = tx.clone();
                async move { tx.closed().await }
            });
            runtime::task::yield_now().await;
            assert!(!waiter.is_finished());
            rx.close();
            waiter.await.unwrap();
            tx.closed().await;

            let (utx, urx) = mpsc::unbounded_channel::<u8>();
            let waiter = runtime::spawn({
                let utx = utx.clone();
                async move { utx.closed().await }
            });
            drop(urx);
            waiter.await.unwrap();
            assert!(utx.is_closed());
        });
    });
}

#[test]
fn waiting_sender_fails_when_receiver_closes() {
    on_both("waiting_sender_closed", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, rx) = mpsc::channel::<u8>(1);
            tx.send(1).await.unwrap();
            let waiting = runtime::spawn({
                let tx = tx.clone();
                async move { tx.send(2).await }
            });
            for _ in 0..10 {
                runtime::task::yield_now().await;
            }
            drop(rx);
            assert_eq!(waiting.await.unwrap(), Err(SendError(2)));
        });
    });
}

/// Receiving many ready messages spends cooperative budget: on a current-thread runtime
/// another task runs before the receiving loop ends.
#[test]
fn recv_spends_coop_budget() {
    watchdog("recv_spends_coop_budget", 60, || {
        let rt = build(Flavor::Current);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(1000);
            let (utx, mut urx) = mpsc::unbounded_channel();
            for i in 0..1000 {
                tx.try_send(i).unwrap();
                utx.send(i).unwrap();
            }
            let other_ran = Arc::new(AtomicUsize::new(0));
            let flag = other_ran.clone();
            let looper = runtime::spawn(async move {
                let mut seen_at = [None, None];
                for i in 0..1000 {
                    assert_eq!(rx.recv().await, Some(i));
                    if seen_at[0].is_none() && flag.load(SeqCst) > 0 {
                        seen_at[0] = Some(i);
                    }
                }
                let start = flag.load(SeqCst);
                for i in 0..1000 {
                    assert_eq!(urx.recv().await, Some(i));
                    if seen_at[1].is_none() && flag.load(SeqCst) > start {
                        seen_at[1] = Some(i);
                    }
                }
                seen_at
            });
            let flag = other_ran.clone();
            let other = runtime::spawn(async move {
                for _ in 0..1000 {
                    flag.fetch_add(1, SeqCst);
                    runtime::task::yield_now().await;
                }
            });
            let seen_at = looper.await.unwrap();
            other.await.unwrap();
            assert!(seen_at[0].is_some(), "bounded recv never yielded");
            assert!(seen_at[1].is_some(), "unbounded recv never yielded");
        });
    });
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<mpsc::Sender<u8>>();
    send_sync::<mpsc::Receiver<u8>>();
    send_sync::<mpsc::WeakSender<u8>>();
    send_sync::<mpsc::Permit<'static, u8>>();
    send_sync::<mpsc::OwnedPermit<u8>>();
    send_sync::<mpsc::UnboundedSender<u8>>();
    send_sync::<mpsc::UnboundedReceiver<u8>>();
    send_sync::<mpsc::WeakUnboundedSender<u8>>();
    // Receivers of `Send`-only values are still `Sync` (as in Tokio).
    send_sync::<mpsc::Receiver<std::cell::Cell<u8>>>();
    send_sync::<mpsc::UnboundedReceiver<std::cell::Cell<u8>>>();
    // The futures are `Send` too.
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    fn is_send<T: Send>(_: &T) {}
    is_send(&tx.send(1));
    is_send(&tx.reserve());
    is_send(&tx.closed());
    is_send(&rx.recv());
    send::<mpsc::error::SendError<u8>>();
}
