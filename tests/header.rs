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
