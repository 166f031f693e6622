//! Fuzz target `yarn`: `lockgate::fuzz::Target::Yarn`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Yarn.run(data);
});
