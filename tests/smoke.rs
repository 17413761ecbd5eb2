use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn mt_spawn_many() {
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let n = rt.block_on(async {
        let counter = Arc::new(AtomicUsize::new(0));
        let mut hs = Vec::new();
        for _ in 0..10_000 {
            let c = counter.clone();
            hs.push(runtime::spawn(async move {
                c.fetch_add(1, Ordering::Relaxed);
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        counter.load(Ordering::Relaxed)
    });
    assert_eq!(n, 10_000);
}

#[test]
fn ct_spawn_many() {
    let rt = runtime::Builder::new_current_thread().build().unwrap();
    let n = rt.block_on(async {
        let mut hs = Vec::new();
        for i in 0..1000u64 {
            hs.push(runtime::spawn(async move {
                runtime::task::yield_now().await;
                i
            }));
        }
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(n, 999 * 1000 / 2);
}

#[test]
fn blocking() {
    let rt = runtime::Runtime::new().unwrap();
    assert_eq!(
        rt.block_on(async { runtime::task::spawn_blocking(|| 5).await.unwrap() }),
        5
    );
}
