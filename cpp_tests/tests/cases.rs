//! Runs every C++ case (found in the sources by build.rs) in its own process, with a deadline.
use std::process::{Command, Stdio};

// The C++ archive (linked into every target of this package) calls into qlocal.
use qlocal as _;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(120);

fn run_case(name: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qlocal-cpp"))
        .args(["run", name])
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start qlocal-cpp");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "C++ case {name} failed: {status}");
            return;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("C++ case {name} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

macro_rules! case {
    ($name:ident) => {
        #[test]
        fn $name() {
            run_case(stringify!($name));
        }
    };
    // QLOCAL_TEST_POSIX: ignored on Windows, where `qlocal-cpp list` gives the reason.
    ($name:ident, posix) => {
        #[test]
        #[cfg_attr(windows, ignore = "needs POSIX (`qlocal-cpp list` says why)")]
        fn $name() {
            run_case(stringify!($name));
        }
    };
}

include!(concat!(env!("OUT_DIR"), "/cases.rs"));

#[test]
fn every_source_case_is_registered() {
    let out = Command::new(env!("CARGO_BIN_EXE_qlocal-cpp"))
        .arg("list")
        .output()
        .expect("qlocal-cpp list");
    let listed = String::from_utf8(out.stdout).unwrap();
    let generated = include_str!(concat!(env!("OUT_DIR"), "/cases.rs"));
    // `list` puts a tab and the reason after a case that does not run on this system.
    let mut a: Vec<&str> = listed
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    let mut b: Vec<&str> = generated
        .lines()
        .map(|l| {
            l.trim_start_matches("case!(")
                .split([',', ')'])
                .next()
                .unwrap()
        })
        .collect();
    a.sort();
    b.sort();
    assert!(!a.is_empty(), "no C++ cases registered");
    assert_eq!(a, b, "cases registered at run time differ from the sources");
}
