//! Fuzz target `projects`: `lockgate::fuzz::Target::Projects`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Projects.run(data);
});
