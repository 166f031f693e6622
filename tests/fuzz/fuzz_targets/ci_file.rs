//! Fuzz target `ci_file`: `lockgate::fuzz::Target::CiFile`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::CiFile.run(data);
});
