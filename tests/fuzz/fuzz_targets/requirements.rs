//! Fuzz target `requirements`: `lockgate::fuzz::Target::Requirements`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Requirements.run(data);
});
