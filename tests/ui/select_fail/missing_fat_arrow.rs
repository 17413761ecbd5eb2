async fn no_arrow(rx: runtime::sync::oneshot::Receiver<u8>) {
    runtime::select! {
        v = rx { drop(v) }
    }
}

async fn no_arrow_before_next_branch() {
    runtime::select! {
        v = async { 1 } v
        w = async { 2 } => w,
    };
}

async fn comma_instead_of_arrow() {
    runtime::select! {
        v = async { 1 }, v,
    };
}

fn main() {}
