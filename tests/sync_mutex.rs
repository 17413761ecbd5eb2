//! Integration tests of `runtime::sync::Mutex` on both runtime flavors: mutual exclusion (a
//! counter updated non-atomically by many tasks on the multi-thread flavor), FIFO order,
//! cancel safety (a dropped pending `lock` does not keep the lock, the next waiter gets it),
//! `try_lock`, owned and mapped guards, `blocking_lock` from plain threads and its panic
//! inside a runtime, a panicking task releasing the lock, `Debug`, `get_mut`/`into_inner`,
//! and Send/Sync bounds as Tokio's.

mod support;

use support::both_flavors_watched as both;

use futures::FutureExt;
use runtime::sync::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
use std::cell::Cell;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use support::{on_both_flavors, panic_payload_str, watchdog, yield_until};

#[test]
fn send_sync_bounds_match_tokio() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Mutex<u8>>();
    send_sync::<Mutex<Cell<u8>>>(); // T: Send is enough for Sync
    send_sync::<MutexGuard<'static, u8>>();
    send::<MutexGuard<'static, Cell<u8>>>();
    send_sync::<OwnedMutexGuard<u8>>();
    send_sync::<MappedMutexGuard<'static, u8>>();
    send_sync::<OwnedMappedMutexGuard<u8, u16>>();
    send_sync::<TryLockError>();
    // The futures of `lock` are Send for Send data.
    fn send_future<F: std::future::Future + Send>(_: F) {}
    let m = Mutex::new(1u8);
    send_future(m.lock());
    send_future(Arc::new(Mutex::new(1u8)).lock_owned());
}

#[test]
fn exclusion_on_many_tasks() {
    both("mutex exclusion", |rt, flavor| {
        let mutex = Arc::new(Mutex::new(0u64));
        rt.block_on(async {
            let handles: Vec<_> = (0..50)
                .map(|_| {
                    let mutex = mutex.clone();
                    runtime::spawn(async move {
                        for _ in 0..40 {
                            let mut g = mutex.lock().await;
                            let v = *g; // read, yield while holding the lock, write
                            runtime::task::yield_now().await;
                            *g = v + 1;
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(*mutex.lock().await, 2000, "{flavor:?}");
        });
    });
}

#[test]
fn waiters_get_the_lock_in_fifo_order() {
    both("mutex fifo", |rt, _| {
        rt.block_on(async {
            let mutex = Arc::new(Mutex::new(Vec::new()));
            let guard = mutex.lock().await;
            let mut handles = Vec::new();
            for i in 0..10 {
                let m = mutex.clone();
                let queued = Arc::new(AtomicBool::new(false));
                let q = queued.clone();
                handles.push(runtime::spawn(async move {
                    let mut lock = pin!(m.lock());
                    assert!(futures::poll!(lock.as_mut()).is_pending());
                    q.store(true, SeqCst);
                    lock.await.push(i);
                }));
                yield_until(|| queued.load(SeqCst)).await;
            }
            assert!(
                mutex.try_lock().is_err(),
                "queued waiters are not overtaken"
            );
            drop(guard);
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(*mutex.lock().await, (0..10).collect::<Vec<_>>());
        });
    });
}

#[test]
fn cancelled_lock_passes_the_lock_on() {
    both("mutex cancel", |rt, _| {
        rt.block_on(async {
            let mutex = Arc::new(Mutex::new(0));
            let guard = mutex.lock().await;
            let mut first = Box::pin(mutex.lock());
            assert!((&mut first).now_or_never().is_none()); // queued first
            let second = {
                let mutex = mutex.clone();
                runtime::spawn(async move { *mutex.lock().await += 1 })
            };
            runtime::task::yield_now().await;
            drop(guard); // the lock is handed to `first`...
            drop(first); // ...which is cancelled before observing it: goes to `second`
            second.await.unwrap();
            assert_eq!(*mutex.try_lock().unwrap(), 1);
        });
    });
}

#[test]
fn try_lock_and_owned_guards() {
    let mutex = Arc::new(Mutex::new((String::from("a"), (1u8, 2u8))));
    let guard = mutex.clone().try_lock_owned().unwrap();
    assert_eq!(
        mutex.try_lock().unwrap_err(),
        TryLockError::clone(&mutex.try_lock().unwrap_err())
    );
    assert_eq!(
        mutex.try_lock().unwrap_err().to_string(),
        "operation would block"
    );
    assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&guard), &mutex));
    let mut pair = OwnedMutexGuard::map(guard, |v| &mut v.1);
    pair.0 = 10;
    let mut second = OwnedMappedMutexGuard::map(pair, |p| &mut p.1);
    *second = 20;
    assert!(mutex.try_lock().is_err(), "the mapped guard holds the lock");
    let second = OwnedMappedMutexGuard::try_map(second, |_| None::<&mut u8>).unwrap_err();
    drop(second);
    assert_eq!(mutex.try_lock().unwrap().1, (10, 20));
    let g = mutex.clone().try_lock_owned().unwrap();
    let g = OwnedMutexGuard::try_map(g, |_| None::<&mut u8>).unwrap_err();
    assert!(
        mutex.try_lock().is_err(),
        "still locked after a declined try_map"
    );
    drop(g);
    let mut s =
        OwnedMutexGuard::try_map(mutex.clone().try_lock_owned().unwrap(), |v| Some(&mut v.0))
            .unwrap();
    s.push('b');
    drop(s);
    assert_eq!(mutex.try_lock().unwrap().0, "ab");
}

#[test]
fn borrowed_mapped_guards() {
    let mutex = Mutex::new((1, vec![2, 3]));
    let g = mutex.try_lock().unwrap();
    assert!(std::ptr::eq(MutexGuard::mutex(&g), &mutex));
    let list = MutexGuard::map(g, |v| &mut v.1);
    let mut last = MappedMutexGuard::try_map(list, |l| l.last_mut()).unwrap();
    *last = 30;
    assert!(mutex.try_lock().is_err());
    drop(last);
    let g = mutex.try_lock().unwrap();
    let g = MutexGuard::try_map(g, |v| v.1.get_mut(7)).unwrap_err();
    assert_eq!(*g, (1, vec![2, 30]));
}

#[test]
fn blocking_lock_from_plain_threads() {
    watchdog("blocking_lock", 30, || {
        let rt = support::multi_thread(2);
        let mutex = Arc::new(Mutex::new(0));
        let guard = rt.block_on(mutex.clone().lock_owned());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let mutex = mutex.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        *mutex.blocking_lock() += 1;
                    }
                    *mutex.clone().blocking_lock_owned() += 1;
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        rt.block_on(async move {
            runtime::spawn(async move { drop(guard) }).await.unwrap();
        });
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*mutex.blocking_lock(), 404);
        // From spawn_blocking it is allowed too.
        let m = mutex.clone();
        let v = rt.block_on(async move {
            runtime::task::spawn_blocking(move || *m.blocking_lock())
                .await
                .unwrap()
        });
        assert_eq!(v, 404);
    });
}

#[test]
fn blocking_lock_inside_a_runtime_panics() {
    on_both_flavors(|rt, _| {
        let mutex = Arc::new(Mutex::new(0));
        let m = mutex.clone();
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { drop(m.blocking_lock()) })
        }))
        .expect_err("blocking_lock inside block_on must panic");
        let msg = panic_payload_str(&*err).unwrap();
        assert!(
            msg.contains("Mutex::blocking_lock") && msg.contains("within a runtime"),
            "{msg}"
        );
        let m = mutex.clone();
        let res = rt.block_on(async move {
            runtime::spawn(async move { drop(m.blocking_lock_owned()) }).await
        });
        assert!(res.unwrap_err().is_panic());
        assert!(mutex.try_lock().is_ok(), "nothing was left locked");
    });
}

#[test]
fn panicking_holder_releases_the_lock() {
    both("mutex panicking holder", |rt, _| {
        rt.block_on(async {
            let mutex = Arc::new(Mutex::new(1));
            let m = mutex.clone();
            let res = runtime::spawn(async move {
                let _g = m.lock().await;
                panic!("boom while holding the lock");
            })
            .await;
            assert!(res.unwrap_err().is_panic());
            assert_eq!(*mutex.lock().await, 1, "no poisoning, lock released");
        });
    });
}

#[test]
fn debug_get_mut_into_inner_const_new() {
    let mut mutex = Mutex::new(vec![1]);
    assert_eq!(format!("{mutex:?}"), "Mutex { data: [1] }");
    {
        let g = mutex.try_lock().unwrap();
        assert_eq!(format!("{mutex:?}"), "Mutex { data: <locked> }");
        assert_eq!(format!("{g:?}"), "[1]");
    }
    mutex.get_mut().push(2);
    assert_eq!(mutex.into_inner(), [1, 2]);
    assert_eq!(format!("{}", Mutex::new(5).try_lock().unwrap()), "5");
    assert_eq!(*Mutex::<u8>::default().try_lock().unwrap(), 0);
    assert_eq!(Mutex::from(3).into_inner(), 3);

    static GLOBAL: Mutex<u32> = Mutex::const_new(7);
    let rt = support::current_thread();
    rt.block_on(async { *GLOBAL.lock().await += 1 });
    assert_eq!(*GLOBAL.blocking_lock(), 8);
}

#[test]
fn lock_spends_coop_budget() {
    both("mutex budget", |rt, _| {
        rt.block_on(async {
            let mutex = Mutex::new(());
            let mut yielded = false;
            for _ in 0..1000 {
                if !runtime_core::coop::has_budget_remaining() {
                    yielded = true;
                    break;
                }
                drop(mutex.lock().await);
            }
            assert!(yielded);
        });
    });
}
