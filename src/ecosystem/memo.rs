//! The last parses of large texts, by content: in one run a staged lockfile is parsed for what
//! it locks and read again by its project's checks (the sync check, the engines check); each
//! asks here and the text is parsed once.
//!
//! A text is known again as the same memory: the blob read that holds it (`git::shared_blob`,
//! kept alive by the slot, so nothing else can stand at that address). Otherwise by its length
//! and a keyed hash (SipHash with this process's random key, std's `RandomState`): nobody who
//! writes the texts knows the key, so no one can make two texts share a parse; keeping the
//! hash, not a copy, keeps memory to the parse.

use std::any::Any;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, OnceLock};

/// Texts shorter than this are parsed again (cheaper than keeping them).
const FROM: usize = 64 * 1024;

/// A parse kept: the text's length and hash, and what it parsed to once parsed (`None`: the
/// parse failed, and each asker parses for its own error). Only the last is kept (a change's
/// new side is parsed after its old one, and is what is asked for again). The project checks
/// may run on another thread than the lockfile's reading: the second to ask waits for the
/// first's parse rather than parse again.
struct Slot {
    length: usize,
    key: Key,
    value: OnceLock<Option<Arc<dyn Any + Send + Sync>>>,
}

/// How a slot's text is known again.
enum Key {
    /// The blob read that is the text, and its hash once a text from elsewhere asks.
    Owner(Arc<[u8]>, OnceLock<u64>),
    /// The text's hash.
    Hash(u64),
}

impl Slot {
    /// Whether `text` (the content of `owner`, when a blob read holds it) is this slot's text;
    /// `hash` gives the text's hash.
    fn is(&self, text: &str, owner: Option<&Arc<[u8]>>, hash: &mut impl FnMut() -> u64) -> bool {
        if self.length != text.len() {
            return false;
        }
        match &self.key {
            Key::Owner(mine, _) if owner.is_some_and(|owner| Arc::ptr_eq(mine, owner)) => true,
            Key::Owner(mine, mine_hashed) => *mine_hashed.get_or_init(|| hash_of(mine)) == hash(),
            Key::Hash(mine) => *mine == hash(),
        }
    }
}

fn hash_of(bytes: &[u8]) -> u64 {
    KEY.get_or_init(std::hash::RandomState::new).hash_one(bytes)
}

static LAST: Mutex<Option<Arc<Slot>>> = Mutex::new(None);
static KEY: OnceLock<std::hash::RandomState> = OnceLock::new();

/// `parse(text)`, or the value a parse of the same text into a `T` gave last.
pub fn parsed<T: Send + Sync + 'static, E>(
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Arc<T>, E> {
    parsed_in(&LAST, text, parse)
}

/// [`parsed`], keeping the last parse in `last`.
fn parsed_in<T: Send + Sync + 'static, E>(
    last: &Mutex<Option<Arc<Slot>>>,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Arc<T>, E> {
    if text.len() < FROM {
        return parse(text).map(Arc::new);
    }
    let owner = crate::git::shared_blob(text.as_bytes());
    let mut hashed = None;
    let mut hash = || *hashed.get_or_insert_with(|| hash_of(text.as_bytes()));
    let slot = {
        let mut last = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match last.as_ref() {
            Some(slot) if slot.is(text, owner.as_ref(), &mut hash) => slot.clone(),
            _ => {
                let slot = Arc::new(Slot {
                    length: text.len(),
                    key: match owner {
                        Some(owner) => Key::Owner(owner, OnceLock::new()),
                        None => Key::Hash(hash()),
                    },
                    value: OnceLock::new(),
                });
                *last = Some(slot.clone());
                slot
            }
        }
    };
    let mut parse = Some(parse);
    let mut failed = None;
    let value = slot.value.get_or_init(|| {
        let parse = parse.take().expect("parsed once");
        match parse(text) {
            Ok(value) => Some(Arc::new(value) as Arc<dyn Any + Send + Sync>),
            Err(error) => {
                failed = Some(error);
                None
            }
        }
    });
    if let Some(error) = failed {
        return Err(error);
    }
    match value.clone().and_then(|value| value.downcast::<T>().ok()) {
        Some(value) => Ok(value),
        // Another type of the same text, or a parse that failed for another asker.
        None => {
            let parse = parse.expect("a parse into T kept, or parsed here");
            parse(text).map(Arc::new)
        }
    }
}

/// Lets go of every parse kept: once a run has read its lockfiles, nothing asks again. A large
/// parse takes a while to free (50,000 entries: ~10 ms): that happens on a thread of its own,
/// which the process does not wait for.
pub fn forget() {
    let last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(slot) = last {
        std::thread::spawn(move || drop(slot));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_parsed_once_and_another_text_again() {
        let text = "x".repeat(FROM);
        let mut other = text.clone();
        other.replace_range(FROM - 1.., "y");
        let mut parses = 0;
        let mut parse = |text: &str| -> Result<usize, ()> {
            parses += 1;
            Ok(text.len() + usize::from(text.ends_with('y')))
        };
        assert_eq!(*parsed(&text, &mut parse).unwrap(), FROM);
        assert_eq!(*parsed(&text, &mut parse).unwrap(), FROM);
        assert_eq!(*parsed(&other, &mut parse).unwrap(), FROM + 1);
        assert_eq!(*parsed(&other, &mut parse).unwrap(), FROM + 1);
        assert_eq!(parses, 2);
        // Another type of the same text is another parse.
        assert_eq!(*parsed(&text, |_| Ok::<_, ()>("s")).unwrap(), "s");
        // A failed parse is not kept, and a text too small is parsed each time.
        let small = "small";
        assert!(parsed(small, |_| Err::<usize, _>("no")).is_err());
    }

    /// The sync check may ask on its own thread while the lockfile's reading parses: the
    /// second asker waits for the first's parse.
    #[test]
    fn two_threads_asking_at_once_share_one_parse() {
        let last = Mutex::new(None);
        let text = "z".repeat(FROM + 1);
        let parses = std::sync::atomic::AtomicUsize::new(0);
        let barrier = std::sync::Barrier::new(2);
        let ask = || {
            barrier.wait();
            parsed_in(&last, &text, |text| {
                parses.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(50));
                Ok::<_, ()>(text.len())
            })
            .unwrap()
        };
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(ask);
            let b = scope.spawn(ask);
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!((*a, *b), (FROM + 1, FROM + 1));
        assert_eq!(parses.load(std::sync::atomic::Ordering::SeqCst), 1);
        // A failed parse is each asker's own: the next asker parses (and fails) again.
        let other = "y".repeat(FROM + 1);
        assert_eq!(parsed_in(&last, &other, |_| Err::<usize, _>(1)), Err(1));
        assert_eq!(parsed_in(&last, &other, |_| Err::<usize, _>(2)), Err(2));
    }
}
