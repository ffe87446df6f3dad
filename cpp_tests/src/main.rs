//! `qlocal-cpp`: the C++ test cases and benchmark flows, linked against qlocal's rlib.
//! `qlocal-cpp list`, `qlocal-cpp run CASE`, `qlocal-cpp flows [--quick] [--repeat N]`.
use std::ffi::{CString, c_char, c_int};

// Links qlocal's exported C functions, which the C++ code calls.
use qlocal as _;

unsafe extern "C" {
    fn qlocal_cpp_main(argc: c_int, argv: *mut *mut c_char) -> c_int;
}

fn main() {
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_encoded_bytes()).expect("argument without NUL"))
        .collect();
    let mut argv: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr().cast_mut()).collect();
    argv.push(std::ptr::null_mut());
    // SAFETY: argv is a NULL-terminated array of NUL-terminated strings that outlive the call.
    let code = unsafe { qlocal_cpp_main(args.len() as c_int, argv.as_mut_ptr()) };
    std::process::exit(code);
}
