//! Integration tests of `runtime::sync::oneshot` on both runtime flavors: request/reply
//! between tasks, the error cases (sender dropped, receiver dropped or closed), `closed()`,
//! `try_recv`, `blocking_recv` (from a plain thread, and its panic inside a runtime), cancel
//! safety of the receive, many channels across threads without leaking values, and the
//! cooperative budget spent by receives.

mod support;

use futures::FutureExt;
use runtime::sync::oneshot::{self, error::RecvError, error::TryRecvError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
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

#[test]
fn request_reply_between_tasks() {
    on_both("request_reply_between_tasks", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            for i in 0..100u64 {
                let (req_tx, req_rx) = oneshot::channel::<(u64, oneshot::Sender<u64>)>();
                let server = runtime::spawn(async move {
                    let (n, reply) = req_rx.await.expect("a request");
                    reply.send(n * n).expect("the client waits");
                });
                let (reply_tx, reply_rx) = oneshot::channel();
                req_tx
                    .send((i, reply_tx))
                    .unwrap_or_else(|_| panic!("the server waits"));
                assert_eq!(reply_rx.await, Ok(i * i), "{flavor:?}");
                server.await.unwrap();
            }
        });
    });
}

#[test]
fn sender_dropped_gives_recv_error() {
    on_both("sender_dropped_gives_recv_error", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, rx) = oneshot::channel::<String>();
            let t = runtime::spawn(async move {
                runtime::task::yield_now().await;
                drop(tx);
            });
            let err = rx.await.unwrap_err();
            assert_eq!(err, RecvError(()));
            assert_eq!(err.to_string(), "channel closed");
            t.await.unwrap();
        });
    });
}

#[test]
fn receiver_dropped_send_returns_value_intact() {
    on_both("receiver_dropped_send_returns_value_intact", |flavor| {
        let rt = build(flavor);
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        rt.block_on(async move {
            let (mut tx, rx) = oneshot::channel();
            runtime::spawn(async move { drop(rx) }).await.unwrap();
            assert!(tx.is_closed());
            tx.closed().await;
            let value = (vec![1u8, 2, 3], String::from("intact"), CountDrop(d));
            let (v, s, guard) = tx.send(value).unwrap_err();
            assert_eq!(v, [1, 2, 3]);
            assert_eq!(s, "intact");
            assert_eq!(drops.load(SeqCst), 0, "the returned value was not dropped");
            drop(guard);
            assert_eq!(drops.load(SeqCst), 1);
        });
    });
}

#[test]
fn closed_completes_when_receiver_drops() {
    on_both("closed_completes_when_receiver_drops", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (mut tx, rx) = oneshot::channel::<u32>();
            let (registered_tx, registered_rx) = oneshot::channel();
            let waiter = runtime::spawn(async move {
                // Register the waker with one poll, tell the main task, then wait.
                {
                    let mut closed = std::pin::pin!(tx.closed());
                    assert!(futures::poll!(closed.as_mut()).is_pending());
                    registered_tx.send(()).unwrap();
                    closed.await;
                }
                tx.is_closed()
            });
            registered_rx.await.unwrap();
            drop(rx);
            assert!(waiter.await.unwrap());
        });
    });
}

#[test]
fn closed_completes_when_receiver_closes() {
    on_both("closed_completes_when_receiver_closes", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (mut tx, mut rx) = oneshot::channel::<u32>();
            let waiter = runtime::spawn(async move {
                tx.closed().await;
                tx.send(1)
            });
            runtime::task::yield_now().await;
            rx.close();
            assert_eq!(waiter.await.unwrap(), Err(1));
            assert_eq!(rx.await, Err(RecvError(())));
        });
    });
}

#[test]
fn close_then_try_recv_of_sent_value() {
    on_both("close_then_try_recv_of_sent_value", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = oneshot::channel();
            runtime::spawn(async move { tx.send(String::from("in flight")).unwrap() })
                .await
                .unwrap();
            rx.close();
            assert_eq!(rx.try_recv().as_deref(), Ok("in flight"));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

            // Also by awaiting.
            let (tx, mut rx) = oneshot::channel();
            tx.send(5).unwrap();
            rx.close();
            assert_eq!(rx.await, Ok(5));
        });
    });
}

#[test]
fn try_recv_empty_and_closed() {
    on_both("try_recv_empty_and_closed", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = oneshot::channel::<u8>();
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            let t = runtime::spawn(async move { drop(tx) });
            t.await.unwrap();
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

            let (tx, mut rx) = oneshot::channel::<u8>();
            rx.close();
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
            assert_eq!(tx.send(1), Err(1));

            let (tx, mut rx) = oneshot::channel::<u8>();
            runtime::spawn(async move { tx.send(9).unwrap() })
                .await
                .unwrap();
            assert_eq!(rx.try_recv(), Ok(9));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
            assert_eq!(TryRecvError::Empty.to_string(), "channel empty");
        });
    });
}

#[test]
fn blocking_recv_from_std_thread() {
    on_both("blocking_recv_from_std_thread", |flavor| {
        let rt = build(flavor);
        let (tx, rx) = oneshot::channel();
        let thread = std::thread::spawn(move || rx.blocking_recv());
        rt.block_on(async move {
            runtime::task::yield_now().await;
            tx.send(vec![7u8; 3]).unwrap();
        });
        assert_eq!(thread.join().unwrap(), Ok(vec![7, 7, 7]));

        // Sender dropped by a task: the blocked thread wakes up with RecvError.
        let (tx, rx) = oneshot::channel::<u8>();
        let thread = std::thread::spawn(move || rx.blocking_recv());
        rt.block_on(async move {
            runtime::spawn(async move { drop(tx) }).await.unwrap();
        });
        assert_eq!(thread.join().unwrap(), Err(RecvError(())));

        // From spawn_blocking (a thread that does not drive the runtime) it is allowed too.
        let (tx, rx) = oneshot::channel::<u8>();
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
    assert!(msg.contains("blocking_recv"), "{msg}");
    assert!(msg.contains(".await"), "{msg}");
}

#[test]
fn blocking_recv_inside_runtime_panics() {
    on_both("blocking_recv_inside_runtime_panics", |flavor| {
        let rt = build(flavor);
        // In block_on.
        let (_tx, rx) = oneshot::channel::<u8>();
        let payload = rt
            .block_on(async move { catch_unwind(AssertUnwindSafe(|| rx.blocking_recv())) })
            .unwrap_err();
        assert_blocking_recv_message(&*payload);

        // In a spawned task.
        let (_tx, rx) = oneshot::channel::<u8>();
        let join = rt.block_on(rt.spawn(async move {
            let _ = rx.blocking_recv();
        }));
        let err = join.unwrap_err();
        assert!(err.is_panic());
        assert_blocking_recv_message(&*err.into_panic());
    });
}

#[test]
fn dropped_pending_recv_is_cancel_safe() {
    on_both("dropped_pending_recv_is_cancel_safe", |flavor| {
        let rt = build(flavor);
        rt.block_on(async {
            let (tx, mut rx) = oneshot::channel();
            // A receive polled once and dropped while pending.
            assert!((&mut rx).now_or_never().is_none());
            // A receive that loses a select and is dropped.
            let other = std::future::ready("other");
            match futures::future::select(&mut rx, other).await {
                futures::future::Either::Right((v, _)) => assert_eq!(v, "other"),
                futures::future::Either::Left(_) => panic!("nothing was sent yet"),
            }
            let sender = runtime::spawn(async move {
                runtime::task::yield_now().await;
                tx.send(42u32).unwrap();
            });
            assert_eq!(rx.await, Ok(42));
            sender.await.unwrap();
        });
    });
}

/// 10_000 channels whose halves end up on different threads (runtime workers, std threads,
/// blocking threads) in every combination of send/receive/drop: each value is dropped exactly
/// once, none leaks.
#[test]
fn many_channels_across_threads_do_not_leak() {
    on_both("many_channels_across_threads_do_not_leak", |flavor| {
        const N: usize = 10_000;
        let rt = build(flavor);
        let created = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(AtomicUsize::new(0));
        let handle = rt.handle().clone();

        // Std threads create the channels and spawn one half or both onto the runtime; each
        // hands its join handles back through a oneshot (so that, on the current-thread
        // flavor, the main thread is inside `block_on` driving the tasks meanwhile).
        type Joins = Vec<runtime::JoinHandle<()>>;
        let threads: Vec<(std::thread::JoinHandle<()>, oneshot::Receiver<Joins>)> = (0..4)
            .map(|t| {
                let (created, dropped, received) =
                    (created.clone(), dropped.clone(), received.clone());
                let handle = handle.clone();
                let (done_tx, done_rx) = oneshot::channel::<Joins>();
                let thread = std::thread::spawn(move || {
                    let mut joins = Vec::new();
                    for i in (t..N).step_by(4) {
                        let (tx, rx) = oneshot::channel();
                        let value = CountDrop(dropped.clone());
                        created.fetch_add(1, SeqCst);
                        let received = received.clone();
                        match i % 5 {
                            // Task sends, task receives.
                            0 => {
                                joins.push(handle.spawn(async move {
                                    let _ = tx.send(value);
                                }));
                                joins.push(handle.spawn(async move {
                                    if rx.await.is_ok() {
                                        received.fetch_add(1, SeqCst);
                                    }
                                }));
                            }
                            // Thread sends, task receives.
                            1 => {
                                joins.push(handle.spawn(async move {
                                    rx.await.expect("sent");
                                    received.fetch_add(1, SeqCst);
                                }));
                                assert!(tx.send(value).is_ok());
                            }
                            // Task sends while a task drops the receiver.
                            2 => {
                                joins.push(handle.spawn(async move {
                                    drop(tx.send(value));
                                }));
                                joins.push(handle.spawn(async move { drop(rx) }));
                            }
                            // Task drops the sender; the thread receives the error.
                            3 => {
                                drop(value);
                                joins.push(handle.spawn(async move { drop(tx) }));
                                assert!(matches!(rx.blocking_recv(), Err(RecvError(()))));
                            }
                            // Task sends; the thread blocks for the value.
                            _ => {
                                joins.push(handle.spawn(async move {
                                    let _ = tx.send(value);
                                }));
                                rx.blocking_recv().expect("sent");
                                received.fetch_add(1, SeqCst);
                            }
                        }
                    }
                    done_tx
                        .send(joins)
                        .unwrap_or_else(|_| panic!("the main thread waits"));
                });
                (thread, done_rx)
            })
            .collect();
        let threads = rt.block_on(async move {
            let mut finished = Vec::new();
            for (thread, done) in threads {
                for j in done.await.expect("the thread sends its joins") {
                    j.await.unwrap();
                }
                finished.push(thread);
            }
            finished
        });
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(created.load(SeqCst), N);
        assert_eq!(dropped.load(SeqCst), N, "every value dropped exactly once");
        // Cases 0, 1 and 4 always deliver (cases 0 and 4 may race nothing: the receiver
        // outlives the send).
        assert_eq!(received.load(SeqCst), N / 5 * 3);
    });
}

/// Awaiting many already-completed receivers spends cooperative budget: on a current-thread
/// runtime another task runs before the loop ends.
#[test]
fn receive_spends_coop_budget() {
    watchdog("receive_spends_coop_budget", 60, || {
        let rt = build(Flavor::Current);
        rt.block_on(async {
            let other_ran = Arc::new(AtomicBool::new(false));
            let receivers: Vec<_> = (0..1_000u32)
                .map(|i| {
                    let (tx, rx) = oneshot::channel();
                    tx.send(i).unwrap();
                    rx
                })
                .collect();
            let flag = other_ran.clone();
            let looper = runtime::spawn(async move {
                let mut seen_at = None;
                for (i, rx) in receivers.into_iter().enumerate() {
                    assert_eq!(rx.await, Ok(i as u32));
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
            let seen_at = seen_at.expect("the other task ran before the loop ended");
            assert!(seen_at < 1_000, "{seen_at}");
        });
    });
}

#[test]
fn halves_are_send_sync_and_debug() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let (tx, rx) = oneshot::channel::<std::cell::Cell<u8>>();
    assert_send_sync(&tx);
    assert_send_sync(&rx);
    assert!(format!("{tx:?}").starts_with("Sender"));
    assert!(format!("{rx:?}").starts_with("Receiver"));
}
