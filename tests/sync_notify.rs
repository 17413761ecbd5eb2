//! Integration tests of `runtime::sync::Notify`, on both runtime flavors: the permit (stored
//! when nobody waits, never more than one), FIFO `notify_one` and LIFO `notify_last` among
//! queued waiters, `notify_waiters` (wakes every waiter, including futures created but not yet
//! polled, stores no permit), `Notified::enable`, cancel safety (a dropped chosen waiter passes
//! its notification on), no cooperative budget spent, and use from plain threads through
//! `futures::executor::block_on`.

mod support;

use support::both_flavors_watched as both_flavors;

use futures::FutureExt;
use runtime::sync::{Notified, Notify};
use runtime::JoinHandle;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use support::{watchdog, yield_until};

/// Spawns `n` tasks that each queue a `Notified` (in spawn order: each is queued before the
/// next is spawned), await it, then record their index in the returned log.
async fn spawn_queued_waiters(
    notify: &Arc<Notify>,
    n: usize,
) -> (Vec<JoinHandle<()>>, Arc<Mutex<Vec<usize>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for i in 0..n {
        let queued = Arc::new(AtomicBool::new(false));
        let (notify, log, q) = (notify.clone(), log.clone(), queued.clone());
        handles.push(runtime::spawn(async move {
            let mut notified = pin!(notify.notified());
            assert!(!notified.as_mut().enable(), "no permit, no broadcast yet");
            q.store(true, SeqCst);
            notified.await;
            log.lock().unwrap().push(i);
        }));
        yield_until(|| queued.load(SeqCst)).await;
    }
    (handles, log)
}

/// Calls `notify` once per waiter, waiting after each call for one more waiter to finish, and
/// returns the order in which they finished.
async fn wake_one_by_one(
    notify: impl Fn(),
    handles: Vec<JoinHandle<()>>,
    log: &Mutex<Vec<usize>>,
) -> Vec<usize> {
    let n = handles.len();
    for done in 1..=n {
        notify();
        yield_until(|| log.lock().unwrap().len() == done).await;
    }
    for h in handles {
        h.await.unwrap();
    }
    log.lock().unwrap().clone()
}

#[test]
fn notify_before_wait_stores_a_permit() {
    both_flavors("permit", |rt, flavor| {
        rt.block_on(async {
            let notify = Notify::new();
            notify.notify_one();
            notify.notified().await;
            // notify_last stores the permit the same way.
            notify.notify_last();
            assert_eq!(notify.notified().now_or_never(), Some(()), "{flavor:?}");
        });
    });
}

#[test]
fn permits_do_not_accumulate() {
    both_flavors("permits do not accumulate", |rt, flavor| {
        rt.block_on(async {
            let notify = Notify::new();
            notify.notify_one();
            notify.notify_one();
            notify.notified().await;
            assert_eq!(notify.notified().now_or_never(), None, "{flavor:?}");
            // The pending probe left no trace: the next notify_one stores a permit again.
            notify.notify_one();
            assert_eq!(notify.notified().now_or_never(), Some(()), "{flavor:?}");
        });
    });
}

#[test]
fn notify_one_is_fifo() {
    both_flavors("notify_one FIFO", |rt, flavor| {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let (handles, log) = spawn_queued_waiters(&notify, 3).await;
            let order = wake_one_by_one(|| notify.notify_one(), handles, &log).await;
            assert_eq!(order, [0, 1, 2], "{flavor:?}");
            assert_eq!(notify.notified().now_or_never(), None, "no permit left");
        });
    });
}

#[test]
fn notify_last_is_lifo() {
    both_flavors("notify_last LIFO", |rt, flavor| {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let (handles, log) = spawn_queued_waiters(&notify, 3).await;
            let order = wake_one_by_one(|| notify.notify_last(), handles, &log).await;
            assert_eq!(order, [2, 1, 0], "{flavor:?}");
            assert_eq!(notify.notified().now_or_never(), None, "no permit left");
        });
    });
}

#[test]
fn notify_waiters_wakes_100_waiters_and_stores_no_permit() {
    const N: usize = 100;
    both_flavors("notify_waiters", |rt, flavor| {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let queued = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..N)
                .map(|_| {
                    let (notify, queued) = (notify.clone(), queued.clone());
                    runtime::spawn(async move {
                        let mut notified = pin!(notify.notified());
                        notified.as_mut().enable();
                        queued.fetch_add(1, SeqCst);
                        notified.await;
                    })
                })
                .collect();
            yield_until(|| queued.load(SeqCst) == N).await;
            notify.notify_waiters();
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(
                notify.notified().now_or_never(),
                None,
                "{flavor:?}: no permit"
            );
        });
    });
}

#[test]
fn notified_created_before_notify_waiters_completes_when_polled_after() {
    both_flavors("created before notify_waiters", |rt, flavor| {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let before = notify.notified();
            let n2 = notify.clone();
            runtime::spawn(async move { n2.notify_waiters() })
                .await
                .unwrap();
            let after = notify.notified();
            before.await;
            assert_eq!(
                after.now_or_never(),
                None,
                "{flavor:?}: created after the call"
            );
        });
    });
}

#[test]
fn notified_crosses_threads_while_waiting() {
    // A Notified queued on one worker, woken from another task: it is Send.
    both_flavors("Send Notified", |rt, _| {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let queued = Arc::new(AtomicBool::new(false));
            let (n2, q2) = (notify.clone(), queued.clone());
            let waiter = runtime::spawn(async move {
                let mut notified: std::pin::Pin<&mut Notified<'_>> = pin!(n2.notified());
                notified.as_mut().enable();
                q2.store(true, SeqCst);
                runtime::task::yield_now().await;
                notified.await;
            });
            yield_until(|| queued.load(SeqCst)).await;
            let n3 = notify.clone();
            runtime::spawn(async move { n3.notify_one() })
                .await
                .unwrap();
            waiter.await.unwrap();
        });
    });
}

#[test]
fn enable_queues_before_the_first_poll() {
    both_flavors("enable", |rt, flavor| {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let mut notified = pin!(notify.notified());
            assert!(!notified.as_mut().enable(), "{flavor:?}");
            // Queued: notify_one from another task goes to it instead of storing a permit.
            let n2 = notify.clone();
            runtime::spawn(async move { n2.notify_one() })
                .await
                .unwrap();
            assert!(notified.as_mut().enable(), "{flavor:?}: marked notified");
            assert_eq!(
                notify.notified().now_or_never(),
                None,
                "no permit was stored"
            );
            notified.await;

            // enable takes a stored permit.
            notify.notify_one();
            let mut with_permit = pin!(notify.notified());
            assert!(with_permit.as_mut().enable());
            with_permit.await;

            // enable reports a notify_waiters call made after creation.
            let mut broadcast = pin!(notify.notified());
            notify.notify_waiters();
            assert!(broadcast.as_mut().enable());
            broadcast.await;
        });
    });
}

#[test]
fn dropping_a_chosen_notified_passes_the_notification_on() {
    both_flavors("cancel safety", |rt, flavor| {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let mut first = Box::pin(notify.notified());
            assert!(!first.as_mut().enable());
            let (handles, log) = spawn_queued_waiters(&notify, 1).await;
            notify.notify_one(); // chooses `first`, the oldest waiter
                                 // Cancelled before completing. (Not checked with `enable`: a `true` from it means
                                 // the future has taken the notification, and dropping it then passes nothing on.)
            drop(first);
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(*log.lock().unwrap(), [0]);
            assert_eq!(
                notify.notified().now_or_never(),
                None,
                "passed on, not duplicated"
            );

            // With nobody else waiting, the notification goes back into the permit.
            let mut lone = Box::pin(notify.notified());
            assert!(!lone.as_mut().enable());
            notify.notify_one();
            drop(lone);
            assert_eq!(
                notify.notified().now_or_never(),
                Some(()),
                "{flavor:?}: permit"
            );
        });
    });
}

#[test]
fn cancelling_an_await_via_select_passes_the_notification_on() {
    both_flavors("cancel via select", |rt, flavor| {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let n2 = notify.clone();
            // Polled once (queued), then the race is lost to the ready branch and the
            // Notified is dropped, after notify_one chose it.
            let chosen_then_dropped = async move {
                let mut notified = pin!(n2.notified());
                assert!(futures::poll!(notified.as_mut()).is_pending());
                n2.notify_one();
                futures::select_biased! {
                    () = futures::future::ready(()).fuse() => {},
                    () = notified.fuse() => unreachable!("the ready branch is biased first"),
                }
            };
            chosen_then_dropped.await;
            assert_eq!(
                notify.notified().now_or_never(),
                Some(()),
                "{flavor:?}: permit"
            );
        });
    });
}

#[test]
fn notified_spends_no_budget() {
    both_flavors("no budget", |rt, flavor| {
        rt.block_on(async {
            runtime::spawn(async move {
                let notify = Notify::new();
                for _ in 0..1000 {
                    notify.notify_one();
                    notify.notified().await;
                }
                assert!(runtime_core::coop::has_budget_remaining(), "{flavor:?}");
            })
            .await
            .unwrap();
        });
    });
}

#[test]
fn waiters_on_std_threads_with_futures_block_on() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 500;
    watchdog("std threads", 30, || {
        let notify = Arc::new(Notify::new());
        let received = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (notify, received) = (notify.clone(), received.clone());
                std::thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        futures::executor::block_on(notify.notified());
                        received.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        // Extra notifications are absorbed by the single permit; keep going until all got
        // theirs.
        while received.load(SeqCst) < THREADS * ROUNDS {
            notify.notify_one();
            std::thread::yield_now();
        }
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn ping_pong_between_std_threads() {
    const ROUNDS: usize = 2000;
    watchdog("ping-pong", 30, || {
        let ping = Arc::new(Notify::new());
        let pong = Arc::new(Notify::new());
        let (ping2, pong2) = (ping.clone(), pong.clone());
        let t = std::thread::spawn(move || {
            for _ in 0..ROUNDS {
                futures::executor::block_on(ping2.notified());
                pong2.notify_one();
            }
        });
        for _ in 0..ROUNDS {
            ping.notify_one();
            futures::executor::block_on(pong.notified());
        }
        t.join().unwrap();
    });
}

#[test]
fn runtime_task_woken_from_std_thread_and_back() {
    both_flavors("runtime <-> std thread", |rt, _| {
        let to_task = Arc::new(Notify::new());
        let to_thread = Arc::new(Notify::new());
        let (a, b) = (to_task.clone(), to_thread.clone());
        let thread = std::thread::spawn(move || {
            for _ in 0..200 {
                a.notify_one();
                futures::executor::block_on(b.notified());
            }
        });
        rt.block_on(async {
            runtime::spawn(async move {
                for _ in 0..200 {
                    to_task.notified().await;
                    to_thread.notify_one();
                }
            })
            .await
            .unwrap();
        });
        thread.join().unwrap();
    });
}

#[test]
fn notify_waiters_from_std_thread_wakes_tasks() {
    const N: usize = 50;
    both_flavors("notify_waiters from std thread", |rt, _| {
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let created = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..N)
                .map(|_| {
                    let (notify, created) = (notify.clone(), created.clone());
                    runtime::spawn(async move {
                        let notified = notify.notified(); // counts as waiting from here
                        created.fetch_add(1, SeqCst);
                        runtime::task::yield_now().await;
                        notified.await;
                    })
                })
                .collect();
            yield_until(|| created.load(SeqCst) == N).await;
            let n2 = notify.clone();
            let thread = std::thread::spawn(move || n2.notify_waiters());
            for h in handles {
                h.await.unwrap();
            }
            thread.join().unwrap();
        });
    });
}
