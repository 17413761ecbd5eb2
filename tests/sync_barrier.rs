//! Integration tests of `runtime::sync::Barrier` on both runtime flavors: exactly one leader
//! per generation over several generations with many tasks, nobody released before the
//! generation is full, `Barrier::new(0)` and `new(1)` (every wait returns at once, as
//! leader), use from plain threads, and Send/Sync.

mod support;

use support::both_flavors_watched as both;

use futures::FutureExt;
use runtime::sync::{Barrier, BarrierWaitResult};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use support::watchdog;

#[test]
fn send_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Barrier>();
    send_sync::<BarrierWaitResult>();
    fn send_future<F: std::future::Future + Send>(_: F) {}
    send_future(Barrier::new(2).wait());
}

#[test]
fn one_leader_per_generation_over_many_generations() {
    both("barrier generations", |rt, flavor| {
        const TASKS: usize = 50;
        const GENERATIONS: usize = 20;
        rt.block_on(async {
            let barrier = Arc::new(Barrier::new(TASKS));
            let leaders = Arc::new(AtomicUsize::new(0));
            let arrived = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (barrier, leaders, arrived) =
                        (barrier.clone(), leaders.clone(), arrived.clone());
                    runtime::spawn(async move {
                        for generation in 0..GENERATIONS {
                            arrived.fetch_add(1, SeqCst);
                            let result = barrier.wait().await;
                            // Nobody is released before the whole generation arrived.
                            assert!(arrived.load(SeqCst) >= (generation + 1) * TASKS);
                            if result.is_leader() {
                                leaders.fetch_add(1, SeqCst);
                            }
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(leaders.load(SeqCst), GENERATIONS, "{flavor:?}");
        });
    });
}

#[test]
fn waits_until_the_generation_is_full() {
    both("barrier waits", |rt, _| {
        rt.block_on(async {
            let barrier = Barrier::new(3);
            let mut a = Box::pin(barrier.wait());
            let mut b = Box::pin(barrier.wait());
            assert!((&mut a).now_or_never().is_none());
            assert!((&mut b).now_or_never().is_none());
            assert!(barrier.wait().await.is_leader(), "the last to arrive leads");
            assert!(!a.await.is_leader());
            assert!(!b.await.is_leader());
        });
    });
}

#[test]
fn zero_and_one_release_at_once() {
    let rt = support::current_thread();
    rt.block_on(async {
        for n in [0, 1] {
            let barrier = Barrier::new(n);
            for _ in 0..3 {
                assert!(barrier.wait().await.is_leader());
            }
        }
    });
    assert!(format!("{:?}", Barrier::new(0)).contains("n: 1"));
}

#[test]
fn plain_threads() {
    watchdog("barrier threads", 30, || {
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    (0..50)
                        .filter(|_| futures::executor::block_on(barrier.wait()).is_leader())
                        .count()
                })
            })
            .collect();
        let leaders: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(leaders, 50);
    });
}
