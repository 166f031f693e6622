//! Fuzz target `npm`: `lockgate::fuzz::Target::Npm`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Npm.run(data);
});
