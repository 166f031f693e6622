//! Fuzz target `pylock`: `lockgate::fuzz::Target::Pylock`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Pylock.run(data);
});
