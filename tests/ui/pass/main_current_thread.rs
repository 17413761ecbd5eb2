// `#[runtime::main(flavor = "current_thread")]`.
#[runtime::main(flavor = "current_thread")]
async fn main() {
    let value = runtime::spawn(async { "current" }).await.unwrap();
    assert_eq!(value, "current");
}
