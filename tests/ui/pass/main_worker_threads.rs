// `worker_threads` with the default (multi-thread) flavor.
#[runtime::main(worker_threads = 2)]
async fn main() {
    let value = runtime::spawn(async { 1 + 1 }).await.unwrap();
    assert_eq!(value, 2);
}
