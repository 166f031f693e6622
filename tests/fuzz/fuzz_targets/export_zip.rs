//! Fuzz target `export_zip`: `lockgate::fuzz::Target::ExportZip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::ExportZip.run(data);
});
