//! Composer's versions, two ways. OSV orders Packagist versions with PHP's `version_compare`
//! after dropping a leading `v` (osv.dev's `PackagistVersion`, osv-scalibr's
//! `semantic/version-packagist.go`): [`osv_compare`], [`osv_normal`]. Composer itself first
//! normalises a version (`VersionParser::normalize`: `v1.2` is `1.2.0.0`, `1.0-beta2` is
//! `1.0.0.0-beta2`) and matches constraints (`^1.2`, `~1.2`, `1.*`, `>=1 <2 || ^3`, `1.0 - 2.0`,
//! `dev-main`, `@dev` flags) on the normal form: [`normalize`], [`Constraint`]. Both are ports of
//! composer/semver 3 (`VersionParser.php`, `Constraint/Constraint.php`, `MultiConstraint.php`)
//! and of PHP's `ext/standard/versioning.c`, regular expressions spelled out by hand.

use std::cmp::Ordering;

/// Longest version or constraint read; Composer's own are far shorter.
const MAX_LENGTH: usize = 256;

// --- PHP's version_compare -----------------------------------------------------------------

/// PHP's `php_canonicalize_version`: `-`, `_`, `+` and every other non-alphanumeric byte become
/// one `.`, and a `.` goes between a run of digits and a run of other characters.
fn canonicalize(version: &str) -> String {
    let bytes = version.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return String::new();
    };
    let is_digit = |b: u8| b.is_ascii_digit();
    let is_other = |b: u8| !b.is_ascii_digit() && b != b'.';
    let mut out = vec![first];
    let mut last = first;
    for &byte in rest {
        let previous_out = *out.last().unwrap_or(&b'.');
        if matches!(byte, b'-' | b'_' | b'+') || !byte.is_ascii_alphanumeric() && byte != b'.' {
            if previous_out != b'.' {
                out.push(b'.');
            }
        } else if (is_other(last) && is_digit(byte)) || (is_digit(last) && is_other(byte)) {
            if previous_out != b'.' {
                out.push(b'.');
            }
            out.push(byte);
        } else {
            out.push(byte);
        }
        last = byte;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The order of PHP's special version words, by prefix: anything else < `dev` < `alpha` = `a` <
/// `beta` = `b` < `RC` = `rc` < `#` (a number) < `pl` = `p`.
fn special_order(form: &str) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| form.starts_with(name))
        .map_or(-1, |(_, order)| *order)
}

/// Two runs of digits as numbers, of any length.
fn compare_numbers(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn is_number(part: &str) -> bool {
    part.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

fn compare_parts(a: &str, b: &str) -> Ordering {
    match (is_number(a), is_number(b)) {
        (true, true) => {
            let digits = |s: &str| {
                let end = s.bytes().take_while(u8::is_ascii_digit).count();
                s[..end].to_string()
            };
            compare_numbers(&digits(a), &digits(b))
        }
        (false, false) => special_order(a).cmp(&special_order(b)),
        (true, false) => special_order("#").cmp(&special_order(b)),
        (false, true) => special_order(a).cmp(&special_order("#")),
    }
}

/// PHP's `version_compare($a, $b)`.
pub fn php_compare(a: &str, b: &str) -> Ordering {
    if a.is_empty() || b.is_empty() {
        return (!a.is_empty()).cmp(&(!b.is_empty()));
    }
    let a = canonicalize(a);
    let b = canonicalize(b);
    let mut left = a.split('.').filter(|part| !part.is_empty());
    let mut right = b.split('.').filter(|part| !part.is_empty());
    loop {
        match (left.next(), right.next()) {
            (Some(x), Some(y)) => match compare_parts(x, y) {
                Ordering::Equal => continue,
                other => return other,
            },
            (Some(x), None) if is_number(x) => return Ordering::Greater,
            (Some(x), None) => return special_order(x).cmp(&special_order("#")),
            (None, Some(y)) if is_number(y) => return Ordering::Less,
            (None, Some(y)) => return special_order("#").cmp(&special_order(y)),
            (None, None) => return Ordering::Equal,
        }
    }
}

/// `version` without the one leading `v` or `V` OSV drops before comparing.
fn without_v(version: &str) -> &str {
    let version = version.trim();
    version
        .strip_prefix('v')
        .or_else(|| version.strip_prefix('V'))
        .unwrap_or(version)
}

/// Orders two Packagist versions as OSV does for `ECOSYSTEM` ranges and `versions` lists.
pub fn osv_compare(a: &str, b: &str) -> Ordering {
    php_compare(without_v(a), without_v(b))
}

/// A Packagist version as OSV reads it, ordered by [`osv_compare`] (for `src/matching.rs`).
#[derive(Clone, Debug)]
pub struct OsvVersion(String);

impl OsvVersion {
    /// Reads `text`; `None` for an empty or overlong one.
    pub fn parse(text: &str) -> Option<OsvVersion> {
        let text = without_v(text);
        (!text.is_empty() && text.len() <= MAX_LENGTH).then(|| OsvVersion(text.to_string()))
    }
}

impl PartialEq for OsvVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for OsvVersion {}

impl PartialOrd for OsvVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OsvVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        php_compare(&self.0, &other.0)
    }
}

/// The normal form of a locked Packagist version for OSV: the version as the lockfile spells it
/// (as Packagist and OSV's records spell it), without surrounding space or a leading `v`;
/// `None` when Composer would not read it as one exact release (a branch such as `dev-main` or
/// `2.x-dev`, or no version at all).
pub fn osv_normal(raw: &str) -> Option<String> {
    let text = raw.trim();
    if text.len() > MAX_LENGTH {
        return None;
    }
    let normal = normalize(text).ok()?;
    if normal.starts_with("dev-") || normal.ends_with("-dev") {
        return None;
    }
    Some(without_v(text).to_string())
}

/// Whether Composer reads `version` as a branch (`dev-main`, `1.x-dev`) rather than a release.
pub fn is_branch(version: &str) -> bool {
    let lower = version.trim().to_ascii_lowercase();
    lower.starts_with("dev-") || lower.ends_with("-dev") || lower.ends_with(".dev")
}

// --- VersionParser::normalize ---------------------------------------------------------------

/// What `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?` captured.
#[derive(Debug, Default)]
struct Modifier<'a> {
    stability: &'a str,
    number: &'a str,
    dev: bool,
}

const STABILITY_WORDS: [&str; 9] = [
    "stable", "beta", "b", "RC", "alpha", "a", "patch", "pl", "p",
];

/// Matches the modifier pattern against all of `text`, trying the alternatives in the order the
/// regular expression does. `ignore_case` is the `/i` flag.
fn modifier(text: &str, ignore_case: bool) -> Option<Modifier<'_>> {
    let separators: &[usize] = if text.starts_with(['.', '_', '-']) {
        &[1, 0]
    } else {
        &[0]
    };
    for &skip in separators {
        let rest = &text[skip..];
        let words = STABILITY_WORDS.iter().map(Some).chain([None]);
        for word in words {
            let (stability, after) = match word {
                Some(word) => {
                    let Some(head) = rest.get(..word.len()) else {
                        continue;
                    };
                    let same = if ignore_case {
                        head.eq_ignore_ascii_case(word)
                    } else {
                        head == *word
                    };
                    if !same {
                        continue;
                    }
                    (head, &rest[word.len()..])
                }
                None => ("", rest),
            };
            // ((?:[.-]?\d+)*+): possessive, only after a stability word.
            let mut consumed = 0;
            if !stability.is_empty() {
                loop {
                    let tail = &after[consumed..];
                    let sep = usize::from(tail.starts_with(['.', '-']));
                    let digits = tail[sep..].bytes().take_while(u8::is_ascii_digit).count();
                    if digits == 0 {
                        break;
                    }
                    consumed += sep + digits;
                }
            }
            let number = &after[..consumed];
            let tail = &after[consumed..];
            let dev_ok = |t: &str| {
                if ignore_case {
                    t.eq_ignore_ascii_case("dev")
                } else {
                    t == "dev"
                }
            };
            let dev = if tail.is_empty() {
                Some(false)
            } else if dev_ok(tail) || (tail.starts_with(['.', '-']) && dev_ok(&tail[1..])) {
                Some(true)
            } else {
                None
            };
            if let Some(dev) = dev {
                return Some(Modifier {
                    stability,
                    number,
                    dev,
                });
            }
        }
    }
    None
}

fn expand_stability(stability: &str) -> String {
    match stability.to_ascii_lowercase().as_str() {
        "a" => "alpha".to_string(),
        "b" => "beta".to_string(),
        "p" | "pl" => "patch".to_string(),
        "rc" => "RC".to_string(),
        other => other.to_string(),
    }
}

/// Adds the modifier to a matched version, as `normalize` does.
fn with_modifier(mut version: String, modifier: &Modifier<'_>) -> String {
    if !modifier.stability.is_empty() {
        if modifier.stability == "stable" {
            return version;
        }
        version.push('-');
        version.push_str(&expand_stability(modifier.stability));
        version.push_str(modifier.number.trim_start_matches(['.', '-']));
    }
    if modifier.dev {
        version.push_str("-dev");
    }
    version
}

fn strip_v(text: &str) -> &str {
    text.strip_prefix(['v', 'V']).unwrap_or(text)
}

/// `^v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?MODIFIER$`: the four numbers and the modifier.
fn classical(text: &str) -> Option<(String, Modifier<'_>)> {
    let text = strip_v(text);
    let major = text.bytes().take_while(u8::is_ascii_digit).count();
    if major == 0 || major > 5 {
        return None;
    }
    let mut numbers = vec![&text[..major]];
    let mut rest = &text[major..];
    while numbers.len() < 4 {
        let Some(tail) = rest.strip_prefix('.') else {
            break;
        };
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        numbers.push(&tail[..digits]);
        rest = &tail[digits..];
    }
    let modifier = modifier(rest, true)?;
    while numbers.len() < 4 {
        numbers.push("0");
    }
    Some((numbers.join("."), modifier))
}

/// `^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?)MODIFIER$`: a date, its non-digits as `.`.
fn date_based(text: &str) -> Option<(String, Modifier<'_>)> {
    let text = strip_v(text);
    let bytes = text.as_bytes();
    if bytes.len() < 4 || !bytes[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Every way of reading the date part, longest first, as backtracking would try them.
    let mut ends = Vec::new();
    let mut frontier = vec![(4usize, 0usize)];
    while let Some((at, pairs)) = frontier.pop() {
        if pairs >= 1 {
            ends.push(at);
            // The optional (?:[.:-]?\d{1,3}) tail.
            for sep in [1usize, 0] {
                let start = at + sep;
                if sep == 1 && !matches!(bytes.get(at), Some(b'.' | b':' | b'-')) {
                    continue;
                }
                for len in (1..=3).rev() {
                    if bytes
                        .get(start..start + len)
                        .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
                    {
                        ends.push(start + len);
                    }
                }
            }
        }
        if pairs < 6 {
            for sep in [0usize, 1] {
                if sep == 1 && !matches!(bytes.get(at), Some(b'.' | b':' | b'-')) {
                    continue;
                }
                let start = at + sep;
                if bytes
                    .get(start..start + 2)
                    .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
                {
                    frontier.push((start + 2, pairs + 1));
                }
            }
        }
    }
    ends.sort_unstable_by(|a, b| b.cmp(a));
    ends.dedup();
    for end in ends {
        if let Some(modifier) = modifier(&text[end..], true) {
            let date: String = text[..end]
                .chars()
                .map(|c| if c.is_ascii_digit() { c } else { '.' })
                .collect();
            return Some((date, modifier));
        }
    }
    None
}

/// `VersionParser::normalizeBranch`.
fn normalize_branch(name: &str) -> String {
    let name = name.trim();
    let body = strip_v(name);
    let parts: Vec<&str> = body.split('.').collect();
    let numeric = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let wildcard = |part: &str| matches!(part, "x" | "X" | "*");
    let valid = !parts.is_empty()
        && parts.len() <= 4
        && numeric(parts[0])
        && parts[1..]
            .iter()
            .all(|part| numeric(part) || wildcard(part));
    if !valid {
        return format!("dev-{name}");
    }
    let mut version = parts[0].to_string();
    for index in 1..4 {
        version.push('.');
        match parts.get(index) {
            Some(part) if numeric(part) => version.push_str(part),
            _ => version.push_str("9999999"),
        }
    }
    format!("{version}-dev")
}

/// `$stabilitiesRegex`: `stable|RC|beta|alpha|dev`, case-insensitive.
fn strip_stability_flag(text: &str) -> (&str, Option<&str>) {
    if let Some(at) = text.rfind('@') {
        let flag = &text[at + 1..];
        if ["stable", "RC", "beta", "alpha", "dev"]
            .iter()
            .any(|word| flag.eq_ignore_ascii_case(word))
        {
            return (&text[..at], Some(flag));
        }
    }
    (text, None)
}

/// `^([^,\s]++) ++as ++([^,\s]++)$`: the aliased version of `x as y`.
fn strip_alias(text: &str) -> &str {
    let parts: Vec<&str> = text.split(' ').filter(|part| !part.is_empty()).collect();
    if parts.len() == 3
        && parts[1] == "as"
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && !parts[0].contains([',', '\t', '\n'])
        && !parts[2].contains([',', '\t', '\n'])
    {
        return parts[0];
    }
    text
}

/// Composer's `VersionParser::normalize`: `1.2` → `1.2.0.0`, `v2.0.0-RC1` → `2.0.0.0-RC1`,
/// `dev-main` as it is, `1.x-dev` → `1.9999999.9999999.9999999-dev`.
pub fn normalize(version: &str) -> Result<String, String> {
    let original = version.trim();
    if original.len() > MAX_LENGTH {
        return Err("the version is too long".to_string());
    }
    let mut version = strip_alias(original);
    version = strip_stability_flag(version).0;
    let branch_word = matches!(version, "master" | "trunk" | "default");
    if branch_word {
        return Ok(format!("dev-{version}"));
    }
    if version.len() >= 4 && version[..4].eq_ignore_ascii_case("dev-") {
        return Ok(format!("dev-{}", &version[4..]));
    }
    // Build metadata: ^([^,\s+]++)\+[^\s]++$
    if let Some((head, tail)) = version.split_once('+') {
        if !head.is_empty()
            && !head.contains(',')
            && !head.contains(char::is_whitespace)
            && !tail.is_empty()
            && !tail.contains(char::is_whitespace)
        {
            version = head;
        }
    }
    if let Some((numbers, modifier)) = classical(version) {
        return Ok(with_modifier(numbers, &modifier));
    }
    if let Some((date, modifier)) = date_based(version) {
        return Ok(with_modifier(date, &modifier));
    }
    // A numeric branch: (.*?)[.-]?dev$
    let lower = version.to_ascii_lowercase();
    if let Some(head) = lower
        .strip_suffix("dev")
        .map(|_| &version[..version.len() - 3])
    {
        let head = head.strip_suffix(['.', '-']).unwrap_or(head);
        let normal = normalize_branch(head);
        if !normal.contains("dev-") {
            return Ok(normal);
        }
    }
    Err(format!("Invalid version string \"{original}\""))
}

/// Whether `VersionParser::parseStability` says `stable`: the leftmost place where the modifier
/// pattern (then optional build metadata) reaches the end names no unstable stability.
fn is_stable(version: &str) -> bool {
    let version = version.split('#').next().unwrap_or(version);
    if version.starts_with("dev-") || version.ends_with("-dev") {
        return false;
    }
    let lower = version.to_ascii_lowercase();
    for (at, _) in lower.char_indices().chain([(lower.len(), ' ')]) {
        let rest = &lower[at..];
        let rest = rest.split('+').next().unwrap_or(rest);
        if let Some(found) = modifier(rest, true) {
            return !found.dev && !matches!(found.stability, "beta" | "b" | "alpha" | "a" | "rc");
        }
    }
    true
}

// --- constraints ------------------------------------------------------------------------------

/// A comparison operator of a constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `=`, `==` or none.
    Equal,
    /// `!=`, `<>`.
    NotEqual,
    /// `<`.
    Less,
    /// `<=`.
    LessOrEqual,
    /// `>`.
    Greater,
    /// `>=`.
    GreaterOrEqual,
}

impl Operator {
    fn parse(text: &str) -> Option<Operator> {
        Some(match text {
            "" | "=" | "==" => Operator::Equal,
            "!=" | "<>" => Operator::NotEqual,
            "<" => Operator::Less,
            "<=" => Operator::LessOrEqual,
            ">" => Operator::Greater,
            ">=" => Operator::GreaterOrEqual,
            _ => return None,
        })
    }

    /// The operator without its `=` (`<=` → `<`, `==` → none).
    fn strict(self) -> Option<Operator> {
        match self {
            Operator::Less | Operator::LessOrEqual => Some(Operator::Less),
            Operator::Greater | Operator::GreaterOrEqual => Some(Operator::Greater),
            Operator::Equal | Operator::NotEqual => None,
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Operator::Equal => ordering == Ordering::Equal,
            Operator::NotEqual => ordering != Ordering::Equal,
            Operator::Less => ordering == Ordering::Less,
            Operator::LessOrEqual => ordering != Ordering::Greater,
            Operator::Greater => ordering == Ordering::Greater,
            Operator::GreaterOrEqual => ordering != Ordering::Less,
        }
    }
}

/// A Composer version constraint, parsed (`Constraint`, `MultiConstraint`, `MatchAllConstraint`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Constraint {
    /// Any version (`*`).
    Any,
    /// One comparison with a normalised version.
    Single(Operator, String),
    /// All of them (`>=1.0 <2.0`, `^1.2`).
    All(Vec<Constraint>),
    /// One of them (`^1 || ^2`).
    OneOf(Vec<Constraint>),
}

/// Whether `version` is a branch for Constraint's purposes (`dev-…`).
fn branch(version: &str) -> bool {
    version.starts_with("dev-")
}

/// `Constraint::versionCompare` with branches not comparable.
fn version_compare(a: &str, b: &str, operator: Operator) -> bool {
    let (a_branch, b_branch) = (branch(a), branch(b));
    if operator == Operator::NotEqual && (a_branch || b_branch) {
        return a != b;
    }
    if a_branch && b_branch {
        return operator == Operator::Equal && a == b;
    }
    if a_branch || b_branch {
        return false;
    }
    operator.holds(php_compare(a, b))
}

/// `Constraint::matchSpecific`: whether two single constraints have a version in common.
fn match_specific(this: (Operator, &str), provider: (Operator, &str)) -> bool {
    let (operator, version) = this;
    let (provider_operator, provider_version) = provider;
    let equal = operator == Operator::Equal;
    let not_equal = operator == Operator::NotEqual;
    let provider_equal = provider_operator == Operator::Equal;
    let provider_not_equal = provider_operator == Operator::NotEqual;
    if not_equal || provider_not_equal {
        if not_equal && !provider_not_equal && !provider_equal && branch(provider_version) {
            return false;
        }
        if provider_not_equal && !not_equal && !equal && branch(version) {
            return false;
        }
        if !equal && !provider_equal {
            return true;
        }
        return version_compare(provider_version, version, Operator::NotEqual);
    }
    if !equal && operator.strict() == provider_operator.strict() {
        return !(branch(version) || branch(provider_version));
    }
    let (first, second, compared_by) = if equal {
        (version, provider_version, provider_operator)
    } else {
        (provider_version, version, operator)
    };
    if version_compare(first, second, compared_by) {
        // e.g. require >= 1.0 and provide < 1.0: 1.0 >= 1.0 but 1.0 is outside what is provided.
        let provider_strict = provider_operator.strict() == Some(provider_operator);
        let this_strict = operator.strict() == Some(operator);
        return !(provider_strict
            && !this_strict
            && php_compare(provider_version, version) == Ordering::Equal);
    }
    false
}

impl Constraint {
    /// Whether some version meets both `self` and `provider` (composer/semver's `matches`).
    pub fn intersects(&self, provider: &Constraint) -> bool {
        match (self, provider) {
            (Constraint::Any, _) | (_, Constraint::Any) => true,
            (Constraint::Single(a, x), Constraint::Single(b, y)) => {
                match_specific((*a, x), (*b, y))
            }
            (Constraint::Single(..), _) => provider.intersects(self),
            (Constraint::OneOf(parts), _) => parts.iter().any(|part| provider.intersects(part)),
            (Constraint::All(_), Constraint::OneOf(_)) => provider.intersects(self),
            (Constraint::All(parts), _) => parts.iter().all(|part| provider.intersects(part)),
        }
    }

    /// Whether the normalised `version` meets the constraint.
    pub fn matches(&self, version: &str) -> bool {
        self.intersects(&Constraint::Single(Operator::Equal, version.to_string()))
    }

    /// `VersionParser::parseConstraints`.
    pub fn parse(text: &str) -> Result<Constraint, String> {
        let text = text.trim();
        if text.len() > MAX_LENGTH {
            return Err("the constraint is too long".to_string());
        }
        let mut alternatives = Vec::new();
        for alternative in split_or(text) {
            let mut parts = Vec::new();
            for part in split_and(alternative) {
                parts.extend(parse_one(&part)?);
            }
            alternatives.push(if parts.len() == 1 {
                parts.remove(0)
            } else {
                Constraint::All(parts)
            });
        }
        Ok(if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            Constraint::OneOf(alternatives)
        })
    }
}

/// `\s*\|\|?\s*`.
fn split_or(text: &str) -> Vec<&str> {
    text.split("||")
        .flat_map(|part| part.split('|'))
        .map(str::trim)
        .collect()
}

/// The `AND` split of one alternative: on commas and spaces, but an operator stays with its
/// version (`>= 1.0`), a hyphen range stays whole (`1.0 - 2.0`), and so does `x as y`.
fn split_and(text: &str) -> Vec<String> {
    let tokens: Vec<&str> = text
        .split([',', ' '])
        .filter(|token| !token.is_empty())
        .collect();
    let mut parts: Vec<String> = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        let token = tokens[index];
        let is_operator = matches!(token, "<" | "<=" | ">" | ">=" | "=" | "==" | "!=" | "<>");
        if is_operator && index + 1 < tokens.len() {
            parts.push(format!("{token}{}", tokens[index + 1]));
            index += 2;
            continue;
        }
        if (token == "-" || token == "as") && index + 1 < tokens.len() && !parts.is_empty() {
            let last = parts.pop().unwrap_or_default();
            parts.push(format!("{last} {token} {}", tokens[index + 1]));
            index += 2;
            continue;
        }
        parts.push(token.to_string());
        index += 1;
    }
    if parts.is_empty() {
        parts.push(String::new());
    }
    parts
}

/// What composer/semver's `$versionRegex` captured.
#[derive(Debug, Default)]
struct Captured<'a> {
    numbers: [Option<&'a str>; 4],
    stability: &'a str,
    dev: bool,
    wildcard_dev: bool,
}

/// `v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.(\d++))?(?:MODIFIER|\.([xX*][.-]?dev))(?:\+[^\s]+)?`
/// against all of `text`.
fn version_pattern(text: &str) -> Option<Captured<'_>> {
    let text = strip_v(text);
    let text = match text.split_once('+') {
        Some((head, tail)) if !tail.is_empty() && !tail.contains(char::is_whitespace) => head,
        Some(_) => return None,
        None => text,
    };
    let mut captured = Captured::default();
    let major = text.bytes().take_while(u8::is_ascii_digit).count();
    if major == 0 {
        return None;
    }
    captured.numbers[0] = Some(&text[..major]);
    let mut rest = &text[major..];
    let mut count = 1;
    while count < 4 {
        let Some(tail) = rest.strip_prefix('.') else {
            break;
        };
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        captured.numbers[count] = Some(&tail[..digits]);
        rest = &tail[digits..];
        count += 1;
    }
    if let Some(found) = modifier(rest, true) {
        captured.stability = found.stability;
        captured.dev = found.dev;
        return Some(captured);
    }
    let tail = rest.strip_prefix('.')?;
    let mut chars = tail.chars();
    if !matches!(chars.next(), Some('x' | 'X' | '*')) {
        return None;
    }
    let after = chars.as_str();
    let after = after.strip_prefix(['.', '-']).unwrap_or(after);
    if !after.eq_ignore_ascii_case("dev") {
        return None;
    }
    captured.wildcard_dev = true;
    Some(captured)
}

/// `manipulateVersionString`: the numbers up to `position`, the one at `position` raised by
/// `increment`, zeros after.
fn manipulate(numbers: &[Option<&str>; 4], position: usize, increment: u64) -> String {
    let mut out = Vec::with_capacity(4);
    for (index, number) in numbers.iter().enumerate() {
        let index = index + 1;
        let text = number.unwrap_or("");
        if index > position {
            out.push("0".to_string());
        } else if index == position && increment > 0 {
            let value: u64 = text.parse().unwrap_or(0);
            out.push(value.saturating_add(increment).to_string());
        } else {
            out.push(text.to_string());
        }
    }
    out.join(".")
}

fn single(operator: Operator, version: String) -> Constraint {
    Constraint::Single(operator, version)
}

/// `VersionParser::parseConstraint`: one constraint of an `AND` group.
fn parse_one(text: &str) -> Result<Vec<Constraint>, String> {
    let fail = || format!("Could not parse version constraint {text}");
    let mut constraint = strip_alias(text).to_string();
    let mut stability_flag = None;
    let (head, flag) = strip_stability_flag(&constraint);
    if let Some(flag) = flag {
        if !head.contains([',', ' ']) {
            if flag != "stable" {
                stability_flag = Some(flag.to_string());
            }
            constraint = if head.is_empty() {
                "*".to_string()
            } else {
                head.to_string()
            };
        }
    }
    // #refs are for Composer only.
    if let Some((head, _)) = constraint.split_once('#') {
        let lower = head.to_ascii_lowercase();
        if lower.starts_with("dev-") || lower.ends_with(".x-dev") {
            constraint = head.to_string();
        }
    }
    let constraint = constraint.as_str();

    // ^(v)?[xX*](\.[xX*])*$
    let wild = strip_v(constraint);
    if !wild.is_empty() && wild.split('.').all(|part| matches!(part, "x" | "X" | "*")) {
        if wild.len() != constraint.len() || wild.contains('.') {
            return Ok(vec![single(
                Operator::GreaterOrEqual,
                "0.0.0.0-dev".to_string(),
            )]);
        }
        return Ok(vec![Constraint::Any]);
    }

    let position_of = |numbers: &[Option<&str>; 4]| numbers.iter().rposition(Option::is_some);

    // Tilde: ~1.2, ~1.2.3
    if let Some(body) = constraint.strip_prefix('~') {
        if body.starts_with('>') {
            return Err(format!(
                "Could not parse version constraint {constraint}: Invalid operator \"~>\", you \
                 probably meant to use the \"~\" operator"
            ));
        }
        if let Some(captured) = version_pattern(body) {
            let mut position = position_of(&captured.numbers).unwrap_or(0) + 1;
            if captured.wildcard_dev {
                position += 1;
            }
            let suffix = if captured.stability.is_empty() && !captured.dev && !captured.wildcard_dev
            {
                "-dev"
            } else {
                ""
            };
            let low = normalize(&format!("{body}{suffix}"))?;
            let high = manipulate(&captured.numbers, position.saturating_sub(1).max(1), 1);
            return Ok(vec![
                single(Operator::GreaterOrEqual, low),
                single(Operator::Less, format!("{high}-dev")),
            ]);
        }
    }

    // Caret: ^1.2, ^0.3
    if let Some(body) = constraint.strip_prefix('^') {
        if let Some(captured) = version_pattern(body) {
            let [major, minor, patch, _] = captured.numbers;
            let position = if major != Some("0") || minor.is_none() {
                1
            } else if minor != Some("0") || patch.is_none() {
                2
            } else {
                3
            };
            let suffix = if captured.stability.is_empty() && !captured.dev && !captured.wildcard_dev
            {
                "-dev"
            } else {
                ""
            };
            let low = normalize(&format!("{body}{suffix}"))?;
            let high = manipulate(&captured.numbers, position, 1);
            return Ok(vec![
                single(Operator::GreaterOrEqual, low),
                single(Operator::Less, format!("{high}-dev")),
            ]);
        }
    }

    // X-range: 1.2.*, 1.x
    if let Some(captured) = x_range(constraint) {
        let position = position_of(&captured).unwrap_or(0) + 1;
        let low = format!("{}-dev", manipulate(&captured, position, 0));
        let high = format!("{}-dev", manipulate(&captured, position, 1));
        if low == "0.0.0.0-dev" {
            return Ok(vec![single(Operator::Less, high)]);
        }
        return Ok(vec![
            single(Operator::GreaterOrEqual, low),
            single(Operator::Less, high),
        ]);
    }

    // Hyphen range: 1.0 - 2.0
    if let Some((from, to)) = constraint.split_once(" - ") {
        let (from, to) = (from.trim_end(), to.trim_start());
        if let (Some(low), Some(high)) = (version_pattern(from), version_pattern(to)) {
            let suffix = if low.stability.is_empty() && !low.dev && !low.wildcard_dev {
                "-dev"
            } else {
                ""
            };
            let lower = single(
                Operator::GreaterOrEqual,
                format!("{}{suffix}", normalize(from)?),
            );
            let [_, minor, patch, _] = high.numbers;
            let upper = if (minor.is_some() && patch.is_some())
                || !high.stability.is_empty()
                || high.dev
                || high.wildcard_dev
            {
                single(Operator::LessOrEqual, normalize(to)?)
            } else {
                normalize(to)?;
                let position = if minor.is_none() { 1 } else { 2 };
                single(
                    Operator::Less,
                    format!("{}-dev", manipulate(&high.numbers, position, 1)),
                )
            };
            return Ok(vec![lower, upper]);
        }
    }

    // Basic comparators: (<>|!=|>=?|<=?|==?)?\s*(.*)
    let operator_length = ["<>", "!=", ">=", "<=", "==", ">", "<", "="]
        .iter()
        .find(|op| constraint.starts_with(*op))
        .map_or(0, |op| op.len());
    let operator_text = &constraint[..operator_length];
    let operand = constraint[operator_length..].trim_start();
    let operator = Operator::parse(operator_text).ok_or_else(fail)?;
    let mut version = match normalize(operand) {
        Ok(version) => version,
        Err(error) => {
            // foobar-dev is read as dev-foobar.
            let plain = operand
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'/'));
            match operand.strip_suffix("-dev") {
                Some(name) if plain => normalize(&format!("dev-{name}"))?,
                _ => return Err(format!("{}: {error}", fail())),
            }
        }
    };
    if !matches!(operator_text, "==" | "=" | "") && stability_flag.is_some() && is_stable(&version)
    {
        version.push('-');
        version.push_str(stability_flag.as_deref().unwrap_or_default());
    } else if matches!(operator, Operator::Less | Operator::GreaterOrEqual)
        && !ends_with_dash_modifier(&operand.to_ascii_lowercase())
        && !operand.starts_with("dev-")
    {
        version.push_str("-dev");
    }
    Ok(vec![single(operator, version)])
}

/// `/-MODIFIER$/` on lowercased text (no `/i`: `RC` never matches there).
fn ends_with_dash_modifier(text: &str) -> bool {
    text.match_indices('-')
        .any(|(at, _)| modifier(&text[at + 1..], false).is_some())
}

/// `^v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.[xX*])++$`.
fn x_range(text: &str) -> Option<[Option<&str>; 4]> {
    let text = strip_v(text);
    let mut numbers = [None; 4];
    let mut parts = text.split('.');
    let mut count = 0;
    let mut wildcards = 0;
    for part in parts.by_ref() {
        if matches!(part, "x" | "X" | "*") {
            wildcards += 1;
            continue;
        }
        if wildcards > 0
            || count >= 3
            || part.is_empty()
            || !part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        numbers[count] = Some(part);
        count += 1;
    }
    (count >= 1 && wildcards >= 1).then_some(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_version_compare() {
        // Expected values are PHP 8.2's version_compare().
        let cases = [
            ("1.0.0", "1.0.0", Ordering::Equal),
            ("1.0", "1.0.0", Ordering::Less),
            ("1.0.0-dev", "1.0.0", Ordering::Less),
            ("1.0.0-alpha", "1.0.0-beta", Ordering::Less),
            ("1.0.0-RC1", "1.0.0", Ordering::Less),
            ("1.0.0-patch1", "1.0.0", Ordering::Greater),
            ("1.0.0.0-beta2", "1.0.0.0-beta10", Ordering::Less),
            ("5.0.0-alpha", "5.0.4", Ordering::Less),
            ("2017.12.2.1", "2017.12.2", Ordering::Greater),
            ("1.10", "1.9", Ordering::Greater),
            ("1.0rc1", "1.0.0", Ordering::Less),
        ];
        for (a, b, expected) in cases {
            assert_eq!(php_compare(a, b), expected, "{a} vs {b}");
        }
        assert_eq!(osv_compare("v6.5.5", "6.5.6"), Ordering::Less);
        assert_eq!(osv_compare("V5.0.2", "5.0.2"), Ordering::Equal);
    }

    #[test]
    fn normalizes_as_composer() {
        // Expected values are composer/semver 3's VersionParser::normalize (its test cases, and
        // PHP 8.2 with Debian's composer 2.5 for the dates).
        let cases = [
            ("1.0.0", "1.0.0.0"),
            ("1.2.3.4", "1.2.3.4"),
            ("v1.0.0", "1.0.0.0"),
            ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
            ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0-rc1", "1.0.0.0-RC1"),
            ("1.0.0.pl3-dev", "1.0.0.0-patch3-dev"),
            ("1.0-dev", "1.0.0.0-dev"),
            ("0", "0.0.0.0"),
            ("10.4.13-beta", "10.4.13.0-beta"),
            ("10.4.13beta2", "10.4.13.0-beta2"),
            ("10.4.13beta.2", "10.4.13.0-beta2"),
            ("10.4.13-b", "10.4.13.0-beta"),
            ("10.4.13-b5", "10.4.13.0-beta5"),
            ("v1.0.0-alpha3", "1.0.0.0-alpha3"),
            ("1.0.0+foo", "1.0.0.0"),
            ("1.0.0-stable", "1.0.0.0"),
            ("20100102", "20100102"),
            ("2010.01.02", "2010.01.02.0"),
            ("2010-01-02", "2010.01.02"),
            ("2010-01-02.5", "2010.01.02.5"),
            ("20100102-203040", "20100102.203040"),
            ("dev-master", "dev-master"),
            ("master", "dev-master"),
            ("dev-feature/foo", "dev-feature/foo"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("2.0.*-dev", "2.0.9999999.9999999-dev"),
            ("1.0.0 as 1.0.1", "1.0.0.0"),
            ("1.0.0@dev", "1.0.0.0"),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize(raw).as_deref(), Ok(expected), "{raw}");
        }
        for raw in ["", "a", "1.0.0-meh", "1.0.0.0.0", "feature-foo", "1.0.0 as"] {
            assert!(normalize(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn constraints_match_as_composer() {
        // Each (constraint, version, matches) as composer/semver 3's Semver::satisfies decides it
        // (checked with PHP 8.2 and Debian's composer 2.5).
        let cases = [
            ("^1.0", "1.2.0", true),
            ("^1.0", "2.0.0", false),
            // Matching ignores stability: ^1.0 starts at 1.0.0.0-dev.
            ("^1.0", "1.0.0-beta1", true),
            ("^0.3", "0.3.9", true),
            ("^0.3", "0.4.0", false),
            ("^0.0.3", "0.0.4", false),
            ("~1.2", "1.9.0", true),
            ("~1.2", "2.0.0", false),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("~3.1", "3.1.0", true),
            ("1.*", "1.5.0", true),
            ("1.*", "2.0.0", false),
            ("1.2.*", "1.2.0", true),
            ("*", "9.0.0", true),
            (">=1.0 <2.0 || ^3", "1.4.2", true),
            (">=1.0 <2.0 || ^3", "3.1.0", true),
            (">=1.0 <2.0 || ^3", "2.5.0", false),
            (">=1.0,<2.0", "1.4.2", true),
            ("1.0.0 - 1.4", "1.4.2", true),
            ("1.0.0 - 1.4", "1.5.0", false),
            ("1.0 - 2.0.0", "2.0.0", true),
            ("1.0 - 2.0.0", "2.0.1", false),
            ("^3.1@stable", "3.1.0", true),
            ("^1.0@dev", "1.0.0-dev", true),
            ("dev-main", "dev-main", true),
            ("dev-main", "1.0.0", false),
            ("dev-main#abc123", "dev-main", true),
            ("1.0.0", "1.0.0", true),
            ("!=1.0.0", "1.0.1", true),
            ("!=1.0.0", "1.0.0", false),
            ("<1.0", "1.0.0-beta", false),
            ("<1.0", "1.0.0", false),
            ("> 1.0", "1.0.1", true),
            ("v2.1.0", "2.1.0", true),
        ];
        for (text, version, expected) in cases {
            let constraint = Constraint::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let version = normalize(version).unwrap();
            assert_eq!(
                constraint.matches(&version),
                expected,
                "{text} vs {version}"
            );
        }
        for text in ["~>1.0", "^", "1.0.0-meh", ">=foo bar"] {
            assert!(Constraint::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn osv_normal_keeps_the_spelling_of_a_release() {
        for (raw, normal) in [
            ("1.2.3", Some("1.2.3")),
            ("v2.1.0", Some("2.1.0")),
            (" 5.0.2 ", Some("5.0.2")),
            ("4.0.0.0", Some("4.0.0.0")),
            ("5.0.0-alpha", Some("5.0.0-alpha")),
            ("dev-main", None),
            ("2.x-dev", None),
            ("latest", None),
            ("", None),
        ] {
            assert_eq!(osv_normal(raw).as_deref(), normal, "{raw:?}");
        }
    }
}
