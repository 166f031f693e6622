//! Fuzz target `bun`: `lockgate::fuzz::Target::Bun`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Bun.run(data);
});
