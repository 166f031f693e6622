//! Fuzz target `uv`: `lockgate::fuzz::Target::Uv`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Uv.run(data);
});
