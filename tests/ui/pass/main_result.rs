// A `Result`-returning main: `?` converts errors into the declared error
// type and `return` leaves the body early.
use std::error::Error;

#[runtime::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let n: u32 = "41".parse()?;
    let n = runtime::spawn(async move { n + 1 }).await.unwrap();
    if n == 42 {
        return Ok(());
    }
    Err("unexpected value".into())
}
