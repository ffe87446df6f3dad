//! Compiles the C++ test sources (the same files CMake builds) into a static library linked
//! into the `qlocal-cpp` binary, and generates one Rust #[test] per C++ case, found by
//! scanning the sources for `QLOCAL_TEST(name)` and `QLOCAL_TEST_POSIX(name, "reason")`.
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources: Vec<_> = std::fs::read_dir(dir)
        .expect("cpp_tests")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
        .filter(|p| p.file_name().is_some_and(|n| n != "main.cpp"))
        .collect();
    sources.sort();
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .include(dir.join("../include"))
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true);
    let mut cases = String::new();
    for src in &sources {
        build.file(src);
        println!("cargo:rerun-if-changed={}", src.display());
        let text = std::fs::read_to_string(src).expect("read source");
        // QLOCAL_TEST(name) or QLOCAL_TEST_POSIX(name, "reason").
        for line in text.lines() {
            let line = line.trim_start();
            if let Some(rest) = line.strip_prefix("QLOCAL_TEST(") {
                let name = rest.split(')').next().unwrap().trim();
                writeln!(cases, "case!({name});").unwrap();
            } else if let Some(rest) = line.strip_prefix("QLOCAL_TEST_POSIX(") {
                let name = rest.split(',').next().unwrap().trim();
                writeln!(cases, "case!({name}, posix);").unwrap();
            }
        }
    }
    // A new or removed test file changes the directory.
    println!("cargo:rerun-if-changed={}", dir.display());
    for h in [
        "harness.hpp",
        "flow.hpp",
        "flow_stream.hpp",
        "../include/qlocal.h",
        "../include/qlocal.hpp",
        // The wrapper's per-class headers (a directory: cargo scans all of it).
        "../include/qlocal",
    ] {
        println!("cargo:rerun-if-changed={}", dir.join(h).display());
    }
    // Cases register themselves from static initialisers that nothing references, so the
    // archive must be linked whole.
    build.cargo_metadata(false).compile("qlocal_cpp");
    let out = std::env::var("OUT_DIR").unwrap();
    println!("cargo:rustc-link-search=native={out}");
    println!("cargo:rustc-link-lib=static:+whole-archive=qlocal_cpp");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        // mingw-w64 (scripts/test-windows.sh): the C++ runtime, and the winpthreads its
        // std::thread needs (the posix thread model), linked in, so the .exe needs no DLL
        // beside it.
        println!("cargo:rustc-link-lib=static=stdc++");
        println!("cargo:rustc-link-lib=static=winpthread");
    } else {
        println!("cargo:rustc-link-lib=dylib=stdc++");
    }
    std::fs::write(Path::new(&out).join("cases.rs"), cases).unwrap();
}
