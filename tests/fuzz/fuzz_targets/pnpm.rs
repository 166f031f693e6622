//! Fuzz target `pnpm`: `lockgate::fuzz::Target::Pnpm`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lockgate::fuzz::Target::Pnpm.run(data);
});
