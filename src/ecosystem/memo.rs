//! The last parses of large texts, by content: in one run a staged lockfile is parsed for what
//! it locks and read again by its project's checks (the sync check, the engines check); each
//! asks here and the text is parsed once.
//!
//! A text is known again by its length and a keyed hash (SipHash with this process's random
//! key, std's `RandomState`): nobody who writes the texts knows the key, so no one can make two
//! texts share a parse; keeping the hash, not a copy, keeps memory to the parse.

use std::any::Any;
use std::cell::RefCell;
use std::hash::BuildHasher;
use std::rc::Rc;

/// Texts shorter than this are parsed again (cheaper than keeping them).
const FROM: usize = 64 * 1024;
/// The parse kept: the text's length and hash, and what it parsed to. Only the last is kept (a
/// change's new side is parsed after its old one, and is what is asked for again).
type Kept = (usize, u64, Rc<dyn Any>);

thread_local! {
    static LAST: RefCell<Option<Kept>> = const { RefCell::new(None) };
    static KEY: std::hash::RandomState = std::hash::RandomState::new();
}

/// `parse(text)`, or the value a parse of the same text into a `T` gave last.
pub fn parsed<T: 'static, E>(
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Rc<T>, E> {
    if text.len() < FROM {
        return parse(text).map(Rc::new);
    }
    let hash = KEY.with(|key| key.hash_one(text));
    let hit = LAST.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(length, kept, value)| {
                *length == text.len() && *kept == hash && value.is::<T>()
            })
            .and_then(|(_, _, value)| value.clone().downcast::<T>().ok())
    });
    if let Some(value) = hit {
        return Ok(value);
    }
    let value = Rc::new(parse(text)?);
    LAST.with(|last| *last.borrow_mut() = Some((text.len(), hash, value.clone())));
    Ok(value)
}

/// Lets go of every parse kept: once a run has read its lockfiles, nothing asks again.
pub fn forget() {
    LAST.with(|last| last.borrow_mut().take());
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
        // A failed parse is not kept.
        let small = "small";
        assert!(parsed(small, |_| Err::<usize, _>("no")).is_err());
    }
}
