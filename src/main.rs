//! The `procbook` binary: the engine's entry guard first, then argument parsing and dispatch.

fn main() {
    println!("procbook");
}
