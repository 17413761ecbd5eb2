//! Integration tests of `runtime::sync::RwLock` on both runtime flavors: shared readers and
//! exclusive writers (a counter updated non-atomically by writers among many readers),
//! write-preferring FIFO fairness (a waiting writer holds back later readers), the reader
//! limit (`with_max_readers`, and its panics for 0 and above the maximum), cancel safety of a
//! pending `write`, owned and mapped guards with `downgrade`, `blocking_read` /
//! `blocking_write` from plain threads and their panic inside a runtime, `Debug`, and
//! Send/Sync bounds as Tokio's.

mod support;

use support::both_flavors_watched as both;

use futures::FutureExt;
use runtime::sync::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use support::{on_both_flavors, panic_payload_str, watchdog, yield_until};

#[test]
fn send_sync_bounds_match_tokio() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<RwLock<u8>>();
    send::<RwLock<std::cell::Cell<u8>>>();
    send_sync::<RwLockReadGuard<'static, u8>>();
    send_sync::<RwLockWriteGuard<'static, u8>>();
    send_sync::<RwLockMappedWriteGuard<'static, u8>>();
    send_sync::<OwnedRwLockReadGuard<u8, u16>>();
    send_sync::<OwnedRwLockWriteGuard<u8>>();
    send_sync::<OwnedRwLockMappedWriteGuard<u8, u16>>();
    fn send_future<F: std::future::Future + Send>(_: F) {}
    let lock = RwLock::new(1u8);
    send_future(lock.read());
    send_future(lock.write());
    send_future(Arc::new(RwLock::new(1u8)).write_owned());
}

#[test]
fn readers_share_writers_exclude() {
    both("rwlock exclusion", |rt, flavor| {
        rt.block_on(async {
            let lock = Arc::new(RwLock::new(0u64));
            let readers_inside = Arc::new(AtomicUsize::new(0));
            let writers: Vec<_> = (0..20)
                .map(|_| {
                    let lock = lock.clone();
                    runtime::spawn(async move {
                        for _ in 0..20 {
                            let mut w = lock.write().await;
                            let v = *w;
                            runtime::task::yield_now().await;
                            *w = v + 1;
                        }
                    })
                })
                .collect();
            let readers: Vec<_> = (0..20)
                .map(|_| {
                    let (lock, inside) = (lock.clone(), readers_inside.clone());
                    runtime::spawn(async move {
                        for _ in 0..20 {
                            let r = lock.read().await;
                            inside.fetch_add(1, SeqCst);
                            let v = *r;
                            runtime::task::yield_now().await;
                            assert_eq!(*r, v, "no writer while a reader holds the lock");
                            inside.fetch_sub(1, SeqCst);
                        }
                    })
                })
                .collect();
            for h in writers.into_iter().chain(readers) {
                h.await.unwrap();
            }
            assert_eq!(*lock.read().await, 400, "{flavor:?}");
            // Many readers at once.
            let r1 = lock.read().await;
            let r2 = lock.try_read().unwrap();
            assert_eq!(*r1 + *r2, 800);
            assert!(lock.try_write().is_err());
        });
    });
}

#[test]
fn waiting_writer_blocks_later_readers() {
    both("rwlock write preference", |rt, _| {
        rt.block_on(async {
            let lock = Arc::new(RwLock::new(0));
            let log = Arc::new(Mutex::new(Vec::new()));
            let r = lock.clone().read_owned().await;
            let writer = {
                let (lock, log) = (lock.clone(), log.clone());
                runtime::spawn(async move {
                    *lock.write().await += 1;
                    log.lock().unwrap().push("writer");
                })
            };
            // The writer takes every free reader slot while it waits.
            yield_until(|| lock.try_read().is_err()).await;
            let reader = {
                let (lock, log) = (lock.clone(), log.clone());
                runtime::spawn(async move {
                    assert_eq!(*lock.read().await, 1, "the reader comes after the writer");
                    log.lock().unwrap().push("reader");
                })
            };
            for _ in 0..10 {
                runtime::task::yield_now().await;
            }
            assert!(log.lock().unwrap().is_empty());
            drop(r);
            writer.await.unwrap();
            reader.await.unwrap();
            assert_eq!(*log.lock().unwrap(), ["writer", "reader"]);
        });
    });
}

#[test]
fn max_readers() {
    let lock = RwLock::with_max_readers(5, 2);
    let a = lock.try_read().unwrap();
    let b = lock.try_read().unwrap();
    assert!(lock.try_read().is_err(), "only 2 readers");
    drop((a, b));
    assert_eq!(*lock.try_write().unwrap(), 5);

    let err = std::panic::catch_unwind(|| RwLock::with_max_readers((), 0)).unwrap_err();
    assert!(panic_payload_str(&*err)
        .unwrap()
        .contains("at least one reader"));
    let err = std::panic::catch_unwind(|| RwLock::with_max_readers((), u32::MAX)).unwrap_err();
    assert!(panic_payload_str(&*err).unwrap().contains("more than"));
    let _max = RwLock::with_max_readers((), u32::MAX >> 3);

    static LIMITED: RwLock<u8> = RwLock::const_with_max_readers(1, 1);
    let r = LIMITED.try_read().unwrap();
    assert!(LIMITED.try_read().is_err());
    drop(r);
}

#[test]
fn cancelled_write_passes_reader_slots_on() {
    both("rwlock cancel", |rt, _| {
        rt.block_on(async {
            let lock = Arc::new(RwLock::with_max_readers(0, 3));
            let r = lock.clone().read_owned().await;
            let mut write = Box::pin(lock.write());
            assert!((&mut write).now_or_never().is_none()); // holds 2 of 3 slots, queued
            assert!(lock.try_read().is_err());
            let reader = {
                let lock = lock.clone();
                runtime::spawn(async move { *lock.read().await })
            };
            runtime::task::yield_now().await;
            drop(write);
            assert_eq!(reader.await.unwrap(), 0);
            drop(r);
            assert!(lock.try_write().is_ok(), "every slot came back");
        });
    });
}

#[test]
fn guards_map_and_downgrade() {
    let lock = Arc::new(RwLock::new((1, vec![2, 3])));
    let w = lock.try_write().unwrap();
    let mut list = RwLockWriteGuard::map(w, |v| &mut v.1);
    list.push(4);
    let mut last = RwLockMappedWriteGuard::try_map(list, |l| l.last_mut()).unwrap();
    *last = 40;
    let last = RwLockMappedWriteGuard::try_map(last, |_| None::<&mut u8>).unwrap_err();
    drop(last);

    let w = lock.try_write().unwrap();
    let w = RwLockWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
    let r = w.downgrade();
    let r2 = lock.try_read().unwrap();
    assert!(lock.try_write().is_err());
    let first = RwLockReadGuard::map(r, |v| &v.0);
    assert_eq!(*first, 1);
    let r2 = RwLockReadGuard::try_map(r2, |v| v.1.get(9)).unwrap_err();
    assert_eq!(r2.1, [2, 3, 40]);
    drop((first, r2));

    let w = lock.try_write().unwrap();
    let second = RwLockWriteGuard::downgrade_map(w, |v| &v.1[1]);
    assert_eq!(*second, 3);
    drop(second);
    let w = lock.try_write().unwrap();
    let w = RwLockWriteGuard::try_downgrade_map(w, |v| v.1.get(9)).unwrap_err();
    drop(w);

    // Owned variants.
    let w = lock.clone().try_write_owned().unwrap();
    assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&w), &lock));
    let mut list = OwnedRwLockWriteGuard::map(w, |v| &mut v.1);
    list.clear();
    let mut mapped = OwnedRwLockMappedWriteGuard::map(list, |l| l);
    mapped.push(7);
    assert!(Arc::ptr_eq(
        OwnedRwLockMappedWriteGuard::rwlock(&mapped),
        &lock
    ));
    let mapped = OwnedRwLockMappedWriteGuard::try_map(mapped, |_| None::<&mut u8>).unwrap_err();
    drop(mapped);
    let w = lock.clone().try_write_owned().unwrap();
    let w = OwnedRwLockWriteGuard::try_map(w, |_| None::<&mut u8>).unwrap_err();
    let r = w.downgrade();
    assert!(lock.try_read().is_ok() && lock.try_write().is_err());
    let r = OwnedRwLockReadGuard::map(r, |v| &v.1);
    assert_eq!(*r, [7]);
    assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&r), &lock));
    let r = OwnedRwLockReadGuard::try_map(r, |l| l.get(3)).unwrap_err();
    drop(r);
    let w = lock.clone().try_write_owned().unwrap();
    let r = OwnedRwLockWriteGuard::downgrade_map(w, |v| &v.0);
    assert_eq!(*r, 1);
    drop(r);
    let w = lock.clone().try_write_owned().unwrap();
    let r = OwnedRwLockWriteGuard::try_downgrade_map(w, |v| v.1.first()).unwrap();
    assert_eq!(*r, 7);
    drop(r);
    let r = lock.clone().try_read_owned().unwrap();
    assert!(lock.clone().try_write_owned().is_err());
    drop(r);
    assert!(
        lock.try_write().is_ok(),
        "every guard gave its permits back"
    );
}

#[test]
fn blocking_read_and_write_from_plain_threads() {
    watchdog("rwlock blocking", 30, || {
        let rt = support::multi_thread(2);
        let lock = Arc::new(RwLock::new(0));
        let w = rt.block_on(lock.clone().write_owned());
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        *lock.blocking_write() += 1;
                        let _ = *lock.blocking_read();
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(w);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.blocking_read(), 150);
    });
}

#[test]
fn blocking_calls_inside_a_runtime_panic() {
    on_both_flavors(|rt, _| {
        let lock = RwLock::new(0);
        for (name, f) in [
            (
                "RwLock::blocking_read",
                Box::new(|| drop(lock.blocking_read())) as Box<dyn Fn()>,
            ),
            (
                "RwLock::blocking_write",
                Box::new(|| drop(lock.blocking_write())),
            ),
        ] {
            let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rt.block_on(async { f() })
            }))
            .expect_err("must panic inside a runtime");
            let msg = panic_payload_str(&*err).unwrap();
            assert!(
                msg.contains(name) && msg.contains("within a runtime"),
                "{msg}"
            );
        }
        assert!(lock.try_write().is_ok());
    });
}

#[test]
fn debug_get_mut_into_inner() {
    let mut lock = RwLock::new(1);
    assert_eq!(format!("{lock:?}"), "RwLock { data: 1 }");
    {
        let w = lock.try_write().unwrap();
        assert_eq!(format!("{lock:?}"), "RwLock { data: <locked> }");
        assert_eq!(format!("{w:?} {w}"), "1 1");
    }
    *lock.get_mut() = 2;
    assert_eq!(lock.into_inner(), 2);
    static GLOBAL: RwLock<u8> = RwLock::const_new(3);
    assert_eq!(*GLOBAL.try_read().unwrap(), 3);
    assert_eq!(RwLock::<u8>::default().into_inner(), 0);
}
