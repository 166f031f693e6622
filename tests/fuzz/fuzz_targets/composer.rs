//! Fuzz target `composer`: `lockgate::fuzz::Target::Composer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Composer.run(data);
});
