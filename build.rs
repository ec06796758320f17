//! Build script: link the procbook binary as a fixed-address (non-PIE) executable on Linux.
//!
//! Every worker is this binary started again, so its start-up cost is paid per process. As a
//! position-independent executable it carries ~36,000 relative relocations that the dynamic
//! loader applies at every start, dirtying a page for each it touches; linked at a fixed
//! address they are resolved once, at link time. Measured with `procbook bench` (the bare
//! start of procbook against /bin/true): 2.5x before, 1.55x after. The cost is address-space
//! randomisation of the main binary, which a local teaching tool can spare.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bin=procbook=-no-pie");
    }
}
