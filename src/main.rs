//! `vdiff`: sample, benchmark, import, train and evaluate from the command line.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use clap::Parser;
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// The CLI is native-only; the wasm build of this crate is the page (`src/web.rs`).
#[cfg(target_arch = "wasm32")]
fn main() {}
