//! Records the target this crate is compiled for, so the engine compiles plugin code for
//! exactly the target jrt runs on (the one `host/build.rs` precompiles the built-ins for).

fn main() {
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=JRT_ENGINE_TARGET={target}");
}
