//! Fuzz target `config`: `lockgate::fuzz::Target::Config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Config.run(data);
});
