#![no_main]
//! The body of this target is `runhook_fuzz::sse` (crates/runhook-fuzz).
libfuzzer_sys::fuzz_target!(|data: &[u8]| runhook_fuzz::sse(data));
