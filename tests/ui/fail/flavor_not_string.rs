#[runtime::test(flavor = multi_thread)]
async fn flavor_is_an_ident() {}

fn main() {}
