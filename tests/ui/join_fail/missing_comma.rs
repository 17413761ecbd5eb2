async fn two() {
    let a = async { 1 };
    let b = async { 2 };
    let _ = runtime::join!(a b);
}

fn main() {}
