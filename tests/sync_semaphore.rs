//! Integration tests of `runtime::sync::Semaphore` on both runtime flavors: permit counting
//! (`acquire_many`, `try_acquire*`, `add_permits`, `forget_permits`, `MAX_PERMITS`), FIFO
//! fairness (a large request at the head holds back later small ones; no starvation with
//! 1000 contending tasks), cancel safety (dropped pending acquires leak no permit and the next
//! waiter is served), `close` (waiters and later acquires fail), owned permits and
//! `merge`/`split`/`forget`, the cooperative budget, and use from plain threads.

mod support;

use support::both_flavors_watched as both;

use futures::FutureExt;
use runtime::sync::TryAcquireError;
use runtime::sync::{AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use support::{watchdog, yield_until};

#[test]
fn send_sync_bounds_match_tokio() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Semaphore>();
    send_sync::<SemaphorePermit<'static>>();
    send_sync::<OwnedSemaphorePermit>();
    send_sync::<AcquireError>();
    send_sync::<TryAcquireError>();
    fn send<T: Send>(_: &T) {}
    let sem = Semaphore::new(1);
    send(&sem.acquire());
    send(&Arc::new(Semaphore::new(1)).acquire_owned());
}

#[test]
fn counting_and_try_acquire() {
    let sem = Semaphore::new(5);
    let a = sem.try_acquire_many(3).unwrap();
    assert_eq!(a.num_permits(), 3);
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(
        sem.try_acquire_many(3).err(),
        Some(TryAcquireError::NoPermits)
    );
    let b = sem.try_acquire().unwrap();
    drop(a);
    assert_eq!(sem.available_permits(), 4);
    b.forget();
    assert_eq!(sem.available_permits(), 4, "forgotten permit not returned");
    sem.add_permits(2);
    assert_eq!(sem.forget_permits(5), 5);
    assert_eq!(sem.available_permits(), 1);
    assert!(sem.try_acquire_many(0).is_ok());
}

#[test]
fn merge_split_and_owned_permits() {
    let sem = Arc::new(Semaphore::new(4));
    let mut p = sem.try_acquire().unwrap();
    p.merge(sem.try_acquire_many(2).unwrap());
    assert_eq!(p.num_permits(), 3);
    let q = p.split(2).unwrap();
    assert!(p.split(2).is_none());
    assert_eq!((p.num_permits(), q.num_permits()), (1, 2));
    drop(q);
    assert_eq!(sem.available_permits(), 3);
    drop(p);

    let mut o = sem.clone().try_acquire_many_owned(2).unwrap();
    o.merge(sem.clone().try_acquire_owned().unwrap());
    let split = o.split(1).unwrap();
    assert_eq!((o.num_permits(), split.num_permits()), (2, 1));
    assert!(Arc::ptr_eq(split.semaphore(), &sem));
    drop((o, split));
    assert_eq!(sem.available_permits(), 4);
}

#[test]
#[should_panic(expected = "different semaphores")]
fn merging_permits_of_different_semaphores_panics() {
    let (a, b) = (Semaphore::new(1), Semaphore::new(1));
    let mut p = a.try_acquire().unwrap();
    p.merge(b.try_acquire().unwrap());
}

#[test]
fn max_permits() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    assert_eq!(sem.available_permits(), usize::MAX >> 3);
    let err = std::panic::catch_unwind(|| Semaphore::new(Semaphore::MAX_PERMITS + 1))
        .expect_err("above MAX_PERMITS must panic");
    let msg = support::panic_payload_str(&*err).unwrap();
    assert!(msg.contains("MAX_PERMITS"), "{msg}");
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sem.add_permits(1)))
        .expect_err("overflow panics");
    assert!(support::panic_payload_str(&*err)
        .unwrap()
        .contains("would exceed MAX_PERMITS"));
}

#[test]
fn const_new_in_a_static() {
    static SEM: Semaphore = Semaphore::const_new(2);
    let rt = support::current_thread();
    rt.block_on(async {
        let p = SEM.acquire_many(2).await.unwrap();
        assert_eq!(SEM.available_permits(), 0);
        drop(p);
    });
    assert_eq!(SEM.available_permits(), 2);
}

#[test]
fn exclusion_with_one_permit_on_many_tasks() {
    both("semaphore exclusion", |rt, flavor| {
        let sem = Arc::new(Semaphore::new(1));
        // A counter updated non-atomically (load, yield, store) under the permit.
        let counter = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let handles: Vec<_> = (0..50)
                .map(|_| {
                    let (sem, counter) = (sem.clone(), counter.clone());
                    runtime::spawn(async move {
                        for _ in 0..20 {
                            let _p = sem.acquire().await.unwrap();
                            let v = counter.load(SeqCst);
                            runtime::task::yield_now().await;
                            counter.store(v + 1, SeqCst);
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
        });
        assert_eq!(counter.load(SeqCst), 1000, "{flavor:?}");
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn large_request_at_the_head_blocks_later_small_ones() {
    both("semaphore fifo large request", |rt, _| {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(3));
            let held = sem.clone().acquire_many_owned(2).await.unwrap();
            let log = Arc::new(Mutex::new(Vec::new()));
            let big = {
                let (sem, log) = (sem.clone(), log.clone());
                runtime::spawn(async move {
                    let _p = sem.acquire_many(3).await.unwrap();
                    log.lock().unwrap().push("big");
                })
            };
            yield_until(|| sem.available_permits() == 0).await; // big queued, took 1
            let small = {
                let (sem, log) = (sem.clone(), log.clone());
                runtime::spawn(async move {
                    let _p = sem.acquire().await.unwrap();
                    log.lock().unwrap().push("small");
                })
            };
            assert!(
                sem.try_acquire().is_err(),
                "nobody overtakes a queued request"
            );
            for _ in 0..10 {
                runtime::task::yield_now().await;
            }
            assert!(log.lock().unwrap().is_empty(), "small must wait behind big");
            drop(held);
            big.await.unwrap();
            small.await.unwrap();
            assert_eq!(*log.lock().unwrap(), ["big", "small"]);
            assert_eq!(sem.available_permits(), 3);
        });
    });
}

#[test]
fn waiters_are_served_in_fifo_order() {
    both("semaphore fifo order", |rt, _| {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(0));
            let log = Arc::new(Mutex::new(Vec::new()));
            let mut handles = Vec::new();
            for i in 0..10 {
                let (sem2, log) = (sem.clone(), log.clone());
                let queued = Arc::new(AtomicUsize::new(0));
                let q = queued.clone();
                handles.push(runtime::spawn(async move {
                    let mut acquire = pin!(sem2.acquire());
                    // Register in the queue (first poll), then report it.
                    assert!(futures::poll!(acquire.as_mut()).is_pending());
                    q.store(1, SeqCst);
                    acquire.await.unwrap().forget(); // one permit per waiter
                    log.lock().unwrap().push(i);
                }));
                yield_until(|| queued.load(SeqCst) == 1).await;
            }
            for done in 1..=10 {
                sem.add_permits(1);
                yield_until(|| log.lock().unwrap().len() == done).await;
            }
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(*log.lock().unwrap(), (0..10).collect::<Vec<_>>());
        });
    });
}

#[test]
fn no_starvation_with_1000_contending_tasks() {
    both("semaphore 1000 tasks", |rt, _| {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(3));
            let done = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..1000)
                .map(|i| {
                    let (sem, done) = (sem.clone(), done.clone());
                    runtime::spawn(async move {
                        for _ in 0..5 {
                            let _p = sem.acquire_many(1 + (i % 3) as u32).await.unwrap();
                            runtime::task::yield_now().await;
                        }
                        done.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(done.load(SeqCst), 1000);
            assert_eq!(sem.available_permits(), 3);
        });
    });
}

#[test]
fn cancelled_acquires_leak_no_permit_and_pass_them_on() {
    both("semaphore cancellation", |rt, _| {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(2));
            let held = sem.clone().acquire_owned().await.unwrap();
            // Queued for 3 with 1 assigned, then cancelled while a later waiter queues.
            let mut big = Box::pin(sem.acquire_many(3));
            assert!((&mut big).now_or_never().is_none());
            assert_eq!(sem.available_permits(), 0);
            let later = {
                let sem = sem.clone();
                runtime::spawn(async move { sem.acquire().await.unwrap().forget() })
            };
            runtime::task::yield_now().await;
            drop(big); // its 1 assigned permit goes to `later`
            later.await.unwrap();
            drop(held);
            assert_eq!(sem.available_permits(), 1, "2 - 1 forgotten");

            // Many acquires cancelled at random points while the permit moves around.
            let sem = Arc::new(Semaphore::new(1));
            let handles: Vec<_> = (0..100)
                .map(|i| {
                    let sem = sem.clone();
                    runtime::spawn(async move {
                        let acquire = sem.acquire_many(1 + i % 2);
                        let _ = futures::future::select(
                            Box::pin(acquire),
                            Box::pin(runtime::task::yield_now()),
                        )
                        .await;
                    })
                })
                .collect();
            sem.add_permits(1);
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(
                sem.available_permits(),
                2,
                "no permit leaked by cancellation"
            );
        });
    });
}

#[test]
fn close_fails_waiters_and_later_acquires() {
    both("semaphore close", |rt, _| {
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(1));
            let held = sem.clone().acquire_owned().await.unwrap();
            let waiters: Vec<_> = (0..5)
                .map(|_| {
                    let sem = sem.clone();
                    runtime::spawn(async move { sem.acquire_many(1).await.map(|p| p.forget()) })
                })
                .collect();
            yield_until(|| Arc::strong_count(&sem) == 7).await;
            for _ in 0..5 {
                runtime::task::yield_now().await;
            }
            sem.close();
            assert!(sem.is_closed());
            for w in waiters {
                assert!(w.await.unwrap().is_err(), "a queued waiter fails on close");
            }
            assert!(sem.acquire().await.is_err());
            assert!(sem.clone().acquire_owned().await.is_err());
            assert_eq!(sem.try_acquire().err(), Some(TryAcquireError::Closed));
            assert!(sem
                .clone()
                .try_acquire_many_owned(0)
                .unwrap_err()
                .is_closed());
            drop(held);
            assert_eq!(sem.available_permits(), 1, "held permits still come back");
            assert_eq!(
                sem.acquire().await.unwrap_err().to_string(),
                "semaphore closed"
            );
        });
    });
}

#[test]
fn acquire_spends_coop_budget() {
    both("semaphore budget", |rt, _| {
        rt.block_on(async {
            let sem = Semaphore::new(1);
            // An always-ready acquire in a loop still runs out of budget and yields.
            let mut yielded = false;
            for _ in 0..1000 {
                if !runtime_core::coop::has_budget_remaining() {
                    yielded = true;
                    break;
                }
                drop(sem.acquire().await.unwrap());
            }
            assert!(yielded, "acquires must spend budget");
        });
    });
}

#[test]
fn threads_and_tasks_share_a_semaphore() {
    watchdog("semaphore threads", 60, || {
        let rt = support::multi_thread(2);
        let sem = Arc::new(Semaphore::new(2));
        let total = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (sem, total) = (sem.clone(), total.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let _p = futures::executor::block_on(sem.acquire()).unwrap();
                        total.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        rt.block_on(async {
            let tasks: Vec<_> = (0..3)
                .map(|_| {
                    let (sem, total) = (sem.clone(), total.clone());
                    runtime::spawn(async move {
                        for _ in 0..200 {
                            let _p = sem.acquire_many(2).await.unwrap();
                            total.fetch_add(1, SeqCst);
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(total.load(SeqCst), 1200);
        assert_eq!(sem.available_permits(), 2);
    });
}
