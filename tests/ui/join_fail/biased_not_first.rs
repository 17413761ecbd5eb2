async fn run() -> Result<(), ()> {
    let (_a, _b) = runtime::try_join!(async { Ok(1) }, biased; async { Ok(2) })?;
    Ok(())
}

fn main() {}
