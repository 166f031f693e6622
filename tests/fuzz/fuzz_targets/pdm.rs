//! Fuzz target `pdm`: `lockgate::fuzz::Target::Pdm`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Pdm.run(data);
});
