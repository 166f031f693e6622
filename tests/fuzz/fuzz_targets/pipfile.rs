//! Fuzz target `pipfile`: `lockgate::fuzz::Target::Pipfile`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Pipfile.run(data);
});
