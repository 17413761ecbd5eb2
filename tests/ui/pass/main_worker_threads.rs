// `worker_threads` with the (default) multi-thread flavor, and with the
// flavor spelled out.
#[runtime::main(worker_threads = 2)]
async fn main() {
    let value = runtime::spawn(async { 1 + 1 }).await.unwrap();
    assert_eq!(value, 2);
    assert_eq!(explicit(), 3);
}

#[runtime::main(flavor = "multi_thread", worker_threads = 2)]
async fn explicit() -> u32 {
    runtime::spawn(async { 3 }).await.unwrap()
}
