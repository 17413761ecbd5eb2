async fn not_a_future() -> u8 {
    runtime::select! {
        v = 5u8 => v,
    }
}

fn main() {}
