//! Fuzz target `export_csv`: `lockgate::fuzz::Target::ExportCsv`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::ExportCsv.run(data);
});
