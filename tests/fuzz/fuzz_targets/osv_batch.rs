//! Fuzz target `osv_batch`: `lockgate::fuzz::Target::OsvBatch`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::OsvBatch.run(data);
});
