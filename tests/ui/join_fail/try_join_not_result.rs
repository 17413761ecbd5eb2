async fn run() {
    let _ = runtime::try_join!(async { Ok::<u8, ()>(1) }, async { 2u8 });
}

fn main() {}
