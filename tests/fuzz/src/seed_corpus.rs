//! Writes the seed corpus of every fuzz target: `seed-corpus OUT ROOT...` puts each target's
//! seeds (`lockgate::fuzz::Target::seeds`) in `OUT/<target>/`, named by content hash so a
//! rerun adds nothing twice.

use lockgate::fuzz::Target;
use std::path::PathBuf;

fn main() {
    let mut arguments = std::env::args_os().skip(1).map(PathBuf::from);
    let Some(out) = arguments.next() else {
        eprintln!("usage: seed-corpus OUT ROOT...");
        std::process::exit(2);
    };
    let roots: Vec<PathBuf> = arguments.collect();
    for target in Target::ALL {
        let folder = out.join(target.name());
        std::fs::create_dir_all(&folder).expect("the corpus folder can be made");
        let seeds = target.seeds(&roots);
        for (_, bytes) in &seeds {
            let name = format!("seed-{:016x}", fnv1a(bytes));
            std::fs::write(folder.join(name), bytes).expect("a seed can be written");
        }
        println!("{}: {} seeds", target.name(), seeds.len());
    }
}

/// 64-bit FNV-1a, for stable file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
