// `#[runtime::main]` with no options: multi-thread runtime, `async fn main()`
// without a return type.
#[runtime::main]
async fn main() {
    let value = runtime::spawn(async { 40 + 2 }).await.unwrap();
    assert_eq!(value, 42);
}
