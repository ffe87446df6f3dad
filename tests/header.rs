//! Fails when include/qlocal.h is not what cbindgen makes of the current sources.
//! Regenerate with: QLOCAL_BLESS=1 cargo test --test header

use std::path::Path;

#[test]
fn checked_in_header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        // From the source tree, not the crate: no `cargo metadata`, no Cargo.lock writes.
        .with_src(root.join("src/lib.rs"))
        .generate()
        .expect("cbindgen could not parse the sources");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = root.join("include/qlocal.h");
    if std::env::var_os("QLOCAL_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/qlocal.h");
        return;
    }
    let current = std::fs::read(&path).unwrap_or_default();
    assert!(
        current == generated,
        "include/qlocal.h is stale: run `QLOCAL_BLESS=1 cargo test --test header` and commit it"
    );
}

#[test]
fn version_macros_are_in_the_header() {
    let header =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/qlocal.h"))
            .unwrap();
    for (name, value) in [
        ("QLOCAL_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("QLOCAL_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("QLOCAL_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(
            header.contains(&format!("#define {name} {value}")),
            "{name} is not {value} in include/qlocal.h"
        );
    }
}

/// tests/compile/every_call.c calls every function of the header (and compiles clean under
/// -Wall -Wextra -Werror, a ctest): a new function without a call there fails here.
#[test]
fn every_header_function_is_called_by_the_compile_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = std::fs::read_to_string(root.join("include/qlocal.h")).unwrap();
    let calls = std::fs::read_to_string(root.join("tests/compile/every_call.c")).unwrap();
    let mut missing = Vec::new();
    for word in header.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let declared = word.starts_with("qlocal_")
            && header.contains(&format!(" {word}("))
            && !word.ends_with("_cb");
        if declared && !calls.contains(&format!("{word}(")) && !missing.contains(&word) {
            missing.push(word);
        }
    }
    assert!(
        missing.is_empty(),
        "not called in every_call.c: {missing:?}"
    );
}
