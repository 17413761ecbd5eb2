//! Integration tests of `runtime::sync::OnceCell` on both runtime flavors: concurrent
//! `get_or_init` runs the initializer exactly once; a failing, panicking or cancelled
//! initializer lets the next caller run its own; `set` errors (already initialized, being
//! initialized); `get`/`get_mut`/`take`/`into_inner`/`new_with`/`const_new`; values dropped
//! once; Send/Sync bounds as Tokio's.

mod support;

use support::both_flavors_watched as both;

use futures::FutureExt;
use runtime::sync::{OnceCell, SetError};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use support::CountDrop;

#[test]
fn send_sync_bounds_match_tokio() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<OnceCell<u8>>();
    send::<OnceCell<std::cell::Cell<u8>>>();
    send_sync::<SetError<u8>>();
}

#[test]
fn concurrent_get_or_init_runs_the_initializer_once() {
    both("once_cell init once", |rt, flavor| {
        rt.block_on(async {
            let cell = Arc::new(OnceCell::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..100)
                .map(|i| {
                    let (cell, runs) = (cell.clone(), runs.clone());
                    runtime::spawn(async move {
                        *cell
                            .get_or_init(|| async move {
                                runs.fetch_add(1, SeqCst);
                                runtime::task::yield_now().await;
                                i
                            })
                            .await
                    })
                })
                .collect();
            let mut values = Vec::new();
            for h in handles {
                values.push(h.await.unwrap());
            }
            assert_eq!(runs.load(SeqCst), 1, "{flavor:?}");
            assert!(values.iter().all(|v| *v == values[0]));
            assert_eq!(cell.get(), Some(&values[0]));
        });
    });
}

#[test]
fn failing_and_cancelled_initializers_let_the_next_one_run() {
    both("once_cell retry", |rt, _| {
        rt.block_on(async {
            let cell = Arc::new(OnceCell::<u32>::new());
            assert_eq!(
                cell.get_or_try_init(|| async { Err("fail") }).await,
                Err("fail")
            );
            assert!(!cell.initialized());

            // Cancelled while its initializer runs: the waiter behind it runs its own.
            let mut pending = Box::pin(cell.get_or_init(std::future::pending));
            assert!((&mut pending).now_or_never().is_none());
            assert!(cell.set(0).unwrap_err().is_initializing_err());
            let waiter = {
                let cell = cell.clone();
                runtime::spawn(async move { *cell.get_or_init(|| async { 7 }).await })
            };
            runtime::task::yield_now().await;
            drop(pending);
            assert_eq!(waiter.await.unwrap(), 7);

            // A panicking initializer too.
            let cell = Arc::new(OnceCell::<u32>::new());
            let c = cell.clone();
            let res = runtime::spawn(async move {
                c.get_or_init(|| async { panic!("init failed") }).await;
            })
            .await;
            assert!(res.unwrap_err().is_panic());
            assert_eq!(
                cell.get_or_try_init(|| async { Ok::<_, ()>(9) }).await,
                Ok(&9)
            );
            assert_eq!(cell.get_or_try_init(|| async { Err(()) }).await, Ok(&9));
        });
    });
}

#[test]
fn set_and_accessors() {
    let cell = OnceCell::new();
    assert_eq!(cell.get(), None);
    assert!(cell.set(1).is_ok());
    let err = cell.set(2).unwrap_err();
    assert_eq!(err, SetError::AlreadyInitializedError(2));
    assert!(err.is_already_init_err() && !err.is_initializing_err());
    assert_eq!(err.to_string(), "the cell is already initialized");
    assert_eq!(format!("{cell:?}"), "OnceCell { value: Some(1) }");
    assert_eq!(cell.clone(), cell);

    let mut cell = OnceCell::new_with(Some(String::from("a")));
    cell.get_mut().unwrap().push('b');
    assert_eq!(cell.take().as_deref(), Some("ab"));
    assert!(!cell.initialized() && cell.get_mut().is_none());
    cell.set(String::from("c")).unwrap();
    assert_eq!(cell.into_inner().as_deref(), Some("c"));
    assert_eq!(OnceCell::<u8>::new_with(None).into_inner(), None);
    assert_eq!(OnceCell::from(3).get(), Some(&3));

    static GLOBAL: OnceCell<u32> = OnceCell::const_new();
    static PRESET: OnceCell<u32> = OnceCell::const_new_with(4);
    let rt = support::current_thread();
    rt.block_on(async {
        assert_eq!(*GLOBAL.get_or_init(|| async { 5 }).await, 5);
        assert_eq!(*PRESET.get_or_init(|| async { 6 }).await, 4);
    });
    assert!(PRESET.set(1).unwrap_err().is_already_init_err());
}

#[test]
fn values_are_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let cell = OnceCell::new();
        cell.set(CountDrop(drops.clone())).map_err(|_| ()).unwrap();
        let rejected = cell.set(CountDrop(drops.clone()));
        drop(rejected); // the rejected value comes back and is dropped here
        assert_eq!(drops.load(SeqCst), 1);
    }
    assert_eq!(drops.load(SeqCst), 2);
    let cell = OnceCell::new_with(Some(CountDrop(drops.clone())));
    let inner = cell.into_inner();
    assert_eq!(drops.load(SeqCst), 2);
    drop(inner);
    assert_eq!(drops.load(SeqCst), 3);
}
