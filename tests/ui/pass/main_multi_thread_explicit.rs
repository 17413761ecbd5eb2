// The multi-thread flavor spelled out, together with `worker_threads`.
#[runtime::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let handles: Vec<_> = (1..=4u32)
        .map(|i| runtime::spawn(async move { i * 10 }))
        .collect();
    let mut sum = 0;
    for handle in handles {
        sum += handle.await.unwrap();
    }
    assert_eq!(sum, 100);
}
