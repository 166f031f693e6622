//! Fuzz target `osv_record`: `lockgate::fuzz::Target::OsvRecord`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::OsvRecord.run(data);
});
