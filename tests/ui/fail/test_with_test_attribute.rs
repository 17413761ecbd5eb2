#[runtime::test]
#[test]
async fn already_a_test() {}

fn main() {}

#[runtime::test]
#[runtime::test]
async fn registered_twice() {}
