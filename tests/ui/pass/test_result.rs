// A `Result`-returning `#[runtime::test]` using `?` and `return`. trybuild
// builds pass cases as binaries (no `--test`), so this checks that the
// expansion is accepted; tests/macros.rs runs such tests for real.
#[runtime::test]
async fn parses() -> Result<(), std::num::ParseIntError> {
    let n: u8 = "7".parse()?;
    if n == 7 {
        return Ok(());
    }
    Ok(())
}

fn main() {}
