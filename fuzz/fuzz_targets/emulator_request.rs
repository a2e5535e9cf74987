#![no_main]
//! The body of this target is `runhook_fuzz::emulator_request` (crates/runhook-fuzz).
libfuzzer_sys::fuzz_target!(|data: &[u8]| runhook_fuzz::emulator_request(data));
