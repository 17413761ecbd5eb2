async fn no_future() {
    let fut = async { 1 };
    runtime::select! {
        fut => 1,
    };
}

fn main() {}
