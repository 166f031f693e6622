//! Fuzz target `poetry`: `lockgate::fuzz::Target::Poetry`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Poetry.run(data);
});
