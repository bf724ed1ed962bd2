//! Text for matching: one spelling for the many ways people (and spammers) type a word.
//!
//! The output is never shown. It only feeds the blocked terms, the flood rule, the question
//! words and the similarity index, so it may lose information a reader would want (case,
//! punctuation, soft signs) as long as two spellings of one word come out the same.
//!
//! # The rule, step by step
//!
//! 1. **Unicode.** NFKC, not only NFC: besides composing "и" + breve into "й", it turns
//!    full-width letters, mathematical bold and circled letters (`𝐤𝐮𝐩𝐢𝐭𝐞`, `ｋｕｐｉｔｅ`) into
//!    plain ones, a common way to slip past a filter. Combining marks (accents, "Zalgo"
//!    stacks), invisible characters (zero-width spaces, soft hyphens, direction overrides) and
//!    apostrophes are then dropped as if they were not there, so `ку\u{200B}пите` and
//!    `skol'ko` stay one word. Hangul jamo left over after NFKC are dropped too: nothing else
//!    in the output could compose under a second NFKC, which keeps the output idempotent.
//! 2. **Case and letters.** Lower case; `ё`, `э` → `е`; `й` → `и`; `ь` and `ъ` dropped (Latin
//!    spellings leave them out: `skolko` must meet `сколько`); the Kazakh letters folded onto
//!    their nearest Russian ones: `ә→а, і→и, ң→н, ғ→г, ү→у, ұ→у, қ→к, ө→о, һ→х` (and the
//!    Ukrainian `ї, є, ґ, ў` alike).
//! 3. **Words.** Letters and digits make pieces; everything else separates them. A separator
//!    with no white space in it (`.`, `-`, `_`, `*`, an emoji…) *joins* the pieces on either
//!    side when one of them is a single character: `к.у.п.и.т.е`, `к-у-п-и-т-е`, `к_у_п`
//!    become one word, while `онлайн-казино` and a missed space in `плохая.Когда` stay two
//!    words (so a term in a hyphenated compound is still found). Between white-space separated
//!    words, a run of **three or more** words that are each a single letter (after steps 4–5)
//!    is joined: `к у п и т е` → `купите`; `я и ты` (two single letters) is left alone.
//! 4. **Scripts, per word.** The choice is made for a whole word, never letter by letter:
//!    - a word with any Cyrillic letter is Cyrillic typed with some Latin letters. The Latin
//!      look-alikes of DESIGN.md are mapped *by shape*: `a→а, b→в, c→с, e→е, h→н, k→к, m→м,
//!      o→о, p→р, t→т, x→х, y→у`; any other Latin letter by sound (`u→у`, `q→к`, `ş→ш`…), so
//!      `кyпитe` → `купите`;
//!    - a word that is wholly Latin is a transliteration and is read *by sound*, with the
//!      digraphs first: `shch→щ, sh→ш, ch→ч, zh→ж, kh→х, ts→ц, ya→я, yu→ю, yo→е, ye→е`; then
//!      the Kazakh Latin (2021) letters `ä→а, ö→о, ü→у, ū→у, ı→и, ğ→г, ş→ш, ç→ч, ñ→н, q→к,
//!      j→ж` and the plain ones (`p→п, b→б, h→х, c→с, x→х, w→в`…). `y` is `ы` as in Kazakh
//!      Latin, except before a vowel (the digraphs) and after `a`, `e`, `o` (Russian `-ay`,
//!      `-ey`, `-oy`, i.e. `й`, folded to `и`). So `kupite` → `купите`, `qalai` → `калаи`
//!      (as `қалай`). Other accented Latin letters are read as their base letter;
//!    - except: a wholly Latin word written **in capitals, every letter a look-alike**
//!      (`HET`, `CEKC`) is Cyrillic typed on the wrong keyboard layout and is mapped by shape
//!      (`нет`, `секс`), as capital Latin `A B C E H K M O P T X Y` are drawn exactly like
//!      Cyrillic ones;
//!    - a word with neither Cyrillic nor Latin letters (digits, Greek, Chinese…) keeps them.
//! 5. **Digits.** In a word that has a letter, the look-alike digits of DESIGN.md `0→о, 3→з,
//!    4→ч, 6→б` become letters, but only when every digit of the word is one of them: `4то`
//!    → `что`, `к0мм3нт` → `комзнт`, while `10км`, `2024ж` and `100` keep their numbers.
//!    `1`, `!` and `|` are **not** read as `и`: `1` is a number far more often than a letter
//!    in these comments, `!` ends sentences, and neither is drawn like `и`. (`i`, which looks
//!    like the Kazakh `і`, does become `и`.)
//! 6. **Repeats.** A letter repeated is kept once (`КУПИИИТЕ` → `купите`); digits are not
//!    squeezed, so numbers survive. Legitimate double letters go too (`касса` → `каса`), the
//!    same on both sides of a comparison.
//! 7. Words are joined by single spaces; nothing leads or trails.
//!
//! Known gaps, on purpose: a word cut into pieces of two letters or more (`куп-ите`, `ку пи
//! те`) stays cut, since joining those would glue ordinary words together; and two words
//! written without a space are one word.
//!
//! The output is idempotent, `normalize(normalize(x)) == normalize(x)`: every output word is
//! lower-case, folded, squeezed, in one script mode that maps it to itself, and no run of three
//! single-letter words is left. `tests/moderation.rs` checks it over arbitrary strings.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// The shortest run of white-space separated single letters that is read as one spelled-out
/// word. Two single letters are common in Russian (`я и ты`, `в и`), three almost never.
const MIN_SPELLED_OUT: usize = 3;

/// Normalizes `text` for matching. See the module documentation for the rule.
pub fn normalize(text: &str) -> String {
    let mut scan = Scan::with_capacity(text.len());
    // Most comments are already NFKC; the quick checks save the normalizing iterator. ASCII and
    // the Cyrillic block are NFKC whatever surrounds them.
    if text.chars().all(|c| c.is_ascii() || is_cyrillic_block(c))
        || is_nfkc_quick(text.chars()) == IsNormalized::Yes
    {
        scan.feed(text.chars());
    } else {
        scan.feed(text.nfkc());
    }
    scan.finish()
}

/// One kept character, lower-cased and folded, and whether it was typed as a capital.
#[derive(Debug, Clone, Copy)]
struct Cell {
    c: char,
    upper: bool,
}

/// A run of letters and digits; it ends where the next begins (cells are only pushed in pieces).
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: usize,
    /// The separator before it had no white space in it.
    tight_before: bool,
}

struct Scan {
    cells: Vec<Cell>,
    pieces: Vec<Piece>,
}

impl Scan {
    fn with_capacity(bytes: usize) -> Scan {
        Scan { cells: Vec::with_capacity(bytes), pieces: Vec::with_capacity(bytes / 4 + 1) }
    }

    fn feed(&mut self, chars: impl Iterator<Item = char>) {
        let mut in_piece = false;
        let mut tight = false;
        for c in chars {
            let alphanumeric = if c.is_ascii() {
                c.is_ascii_alphanumeric()
            } else if is_cyrillic_letter(c) {
                true
            } else if is_transparent(c) {
                continue;
            } else {
                c.is_alphanumeric()
            };
            if alphanumeric {
                let before = self.cells.len();
                push_lowered(c, &mut self.cells);
                if !in_piece && self.cells.len() > before {
                    self.pieces.push(Piece { start: before, tight_before: tight });
                    in_piece = true;
                }
            } else if in_piece {
                in_piece = false;
                tight = !is_space(c);
            } else if is_space(c) {
                tight = false;
            }
        }
    }

    fn finish(self) -> String {
        let Scan { cells, pieces } = self;
        let mut out = String::with_capacity(cells.len() * 2);
        let mut spelled = Spelled::default();
        let mut word_start: Option<usize> = None;
        for (i, piece) in pieces.iter().enumerate() {
            let end = pieces.get(i + 1).map_or(cells.len(), |next| next.start);
            let len = end - piece.start;
            let previous_len = i.checked_sub(1).and_then(|p| pieces.get(p)).map(|p| piece.start - p.start);
            let joins = piece.tight_before && (len == 1 || previous_len == Some(1));
            if !joins {
                if let Some(start) = word_start {
                    spelled.word(&cells[start..piece.start], &mut out);
                }
                word_start = Some(piece.start);
            }
        }
        if let Some(start) = word_start {
            spelled.word(&cells[start..], &mut out);
        }
        spelled.flush(&mut out);
        out
    }
}

/// Words waiting to see whether they are a spelled-out word: consecutive words that each came
/// out as a single letter.
#[derive(Default)]
struct Spelled {
    /// The raw cells of the waiting words, in order.
    cells: Vec<Cell>,
    /// Each waiting word's output letter.
    letters: Vec<char>,
    scratch: String,
}

impl Spelled {
    fn word(&mut self, cells: &[Cell], out: &mut String) {
        self.scratch.clear();
        let single = process_word(cells, &mut self.scratch);
        if let Some(letter) = single {
            self.cells.extend_from_slice(cells);
            self.letters.push(letter);
            return;
        }
        self.flush(out);
        push_word(out, &self.scratch);
    }

    fn flush(&mut self, out: &mut String) {
        if self.letters.len() >= MIN_SPELLED_OUT {
            self.scratch.clear();
            process_word(&self.cells, &mut self.scratch);
            push_word(out, &self.scratch);
        } else {
            for &letter in &self.letters {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push(letter);
            }
        }
        self.cells.clear();
        self.letters.clear();
    }
}

fn push_word(out: &mut String, word: &str) {
    if word.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(word);
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// Characters dropped as if they were not there: they never separate words.
fn is_transparent(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\''
            | '`'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{02BB}'
            | '\u{02BC}'
            // Hangul jamo that NFKC did not compose into a syllable.
            | '\u{1100}'..='\u{11FF}'
            | '\u{A960}'..='\u{A97F}'
            | '\u{D7B0}'..='\u{D7FF}'
    ) || is_combining_mark(c)
}

fn push_lowered(c: char, cells: &mut Vec<Cell>) {
    if c.is_ascii() {
        cells.push(Cell { c: c.to_ascii_lowercase(), upper: c.is_ascii_uppercase() });
        return;
    }
    if is_cyrillic_letter(c) {
        let lower = cyrillic_lowercase(c);
        if let Some(folded) = fold(lower) {
            cells.push(Cell { c: folded, upper: lower != c });
        }
        return;
    }
    let upper = c.is_uppercase();
    for lower in c.to_lowercase() {
        if is_transparent(lower) {
            continue;
        }
        if let Some(folded) = fold(lower) {
            cells.push(Cell { c: folded, upper });
        }
    }
}

/// Folds Cyrillic letters that spell the same word two ways; `None` drops the letter.
fn fold(c: char) -> Option<char> {
    Some(match c {
        'ё' | 'э' | 'є' => 'е',
        'й' | 'і' | 'ї' => 'и',
        'ь' | 'ъ' => return None,
        'ә' => 'а',
        'ң' => 'н',
        'ғ' | 'ґ' => 'г',
        'ү' | 'ұ' | 'ў' => 'у',
        'қ' => 'к',
        'ө' => 'о',
        'һ' => 'х',
        other => other,
    })
}

fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{052F}').contains(&c)
}

/// The Cyrillic block, U+0400 to U+04FF, where Russian and Kazakh live.
fn is_cyrillic_block(c: char) -> bool {
    ('\u{0400}'..='\u{04FF}').contains(&c)
}

/// A letter of the Cyrillic block: all of it but the thousands sign and the combining marks.
fn is_cyrillic_letter(c: char) -> bool {
    is_cyrillic_block(c) && !('\u{0482}'..='\u{0489}').contains(&c)
}

/// `char::to_lowercase` for the Cyrillic block, without the table search: the comments are
/// mostly Cyrillic, and this runs on every letter of every comment.
fn cyrillic_lowercase(c: char) -> char {
    let u = u32::from(c);
    let lower = match u {
        0x400..=0x40F => u + 0x50,
        0x410..=0x42F => u + 0x20,
        0x460..=0x481 | 0x48A..=0x4BF | 0x4D0..=0x4FF if u % 2 == 0 => u + 1,
        0x4C0 => 0x4CF,
        0x4C1..=0x4CE if u % 2 == 1 => u + 1,
        _ => u,
    };
    char::from_u32(lower).unwrap_or(c)
}

/// Whether `c` is a capital (`Some(true)`), a small letter (`Some(false)`) or has no case,
/// with the common cases first.
pub(crate) fn letter_case(c: char) -> Option<bool> {
    if c.is_ascii() {
        if c.is_ascii_uppercase() { Some(true) } else { c.is_ascii_lowercase().then_some(false) }
    } else if is_cyrillic_letter(c) {
        Some(cyrillic_lowercase(c) != c)
    } else if c.is_uppercase() {
        Some(true)
    } else {
        c.is_lowercase().then_some(false)
    }
}

/// `char::is_alphabetic` with the common cases first.
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else if is_cyrillic_block(c) {
        is_cyrillic_letter(c)
    } else {
        c.is_alphabetic()
    }
}

fn is_latin(c: char) -> bool {
    c.is_ascii_lowercase()
        || ((('\u{00C0}'..='\u{024F}').contains(&c) || ('\u{1E00}'..='\u{1EFF}').contains(&c))
            && c.is_alphabetic())
}

/// The Cyrillic letter a Latin one is drawn like (DESIGN.md's list).
fn shape(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'x' => 'х',
        'y' => 'у',
        _ => return None,
    })
}

/// The Cyrillic letter a single Latin letter is read as, by sound.
fn sound(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'b' => 'б',
        'c' => 'с',
        'd' => 'д',
        'e' => 'е',
        'f' => 'ф',
        'g' => 'г',
        'h' => 'х',
        'i' => 'и',
        'j' => 'ж',
        'k' => 'к',
        'l' => 'л',
        'm' => 'м',
        'n' => 'н',
        'o' => 'о',
        'p' => 'п',
        'q' => 'к',
        'r' => 'р',
        's' => 'с',
        't' => 'т',
        'u' => 'у',
        'v' => 'в',
        'w' => 'в',
        'x' => 'х',
        'y' => 'ы',
        'z' => 'з',
        _ => return None,
    })
}

/// A lower-case Latin letter as a plain ASCII one, or the Kazakh letters whose base letter
/// would mislead (`ş` is `ш`, not `с`), already as Cyrillic.
enum Base {
    Ascii(char),
    Cyrillic(char),
}

fn latin_base(c: char) -> Option<Base> {
    if c.is_ascii_lowercase() {
        return Some(Base::Ascii(c));
    }
    match c {
        'ş' => return Some(Base::Cyrillic('ш')),
        'ç' => return Some(Base::Cyrillic('ч')),
        'ı' => return Some(Base::Cyrillic('и')),
        _ => {}
    }
    let mut base = None;
    decompose_canonical(c, |d| {
        if base.is_none() {
            base = Some(d);
        }
    });
    base.filter(|b| b.is_ascii_lowercase() && *b != c).map(Base::Ascii)
}

fn latin_by_shape(c: char) -> char {
    match latin_base(c) {
        Some(Base::Ascii(b)) => shape(b).or_else(|| sound(b)).unwrap_or(c),
        Some(Base::Cyrillic(k)) => k,
        None => c,
    }
}

fn latin_by_sound(c: char) -> char {
    match latin_base(c) {
        Some(Base::Ascii(b)) => sound(b).unwrap_or(c),
        Some(Base::Cyrillic(k)) => k,
        None => c,
    }
}

fn lookalike_digit(c: char) -> Option<char> {
    Some(match c {
        '0' => 'о',
        '3' => 'з',
        '4' => 'ч',
        '6' => 'б',
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Has a Cyrillic letter, or is Latin capitals that are all look-alikes.
    Shape,
    /// Wholly Latin: transliterated.
    Sound,
    /// Neither script: kept.
    Keep,
}

/// Appends one word's normalized form to `out` (which it expects empty); returns the letter if
/// the word came out as a single letter.
fn process_word(cells: &[Cell], out: &mut String) -> Option<char> {
    let mut has_cyrillic = false;
    let mut has_latin = false;
    let mut has_letter = false;
    let mut capital_lookalikes = true;
    let mut digits_lookalike = true;
    for cell in cells {
        let c = cell.c;
        if c.is_ascii_digit() {
            digits_lookalike &= lookalike_digit(c).is_some();
        } else if is_letter(c) {
            has_letter = true;
            if is_cyrillic(c) {
                has_cyrillic = true;
            } else if is_latin(c) {
                has_latin = true;
            }
            capital_lookalikes &= cell.upper && c.is_ascii_lowercase() && shape(c).is_some();
        }
    }
    let mode = if has_cyrillic || (has_latin && capital_lookalikes) {
        Mode::Shape
    } else if has_latin {
        Mode::Sound
    } else {
        Mode::Keep
    };
    let map_digits = has_letter && digits_lookalike;
    let mut writer = Writer { out, last: None, count: 0 };
    let mut i = 0;
    while let Some(cell) = cells.get(i) {
        let c = cell.c;
        i += 1;
        if c.is_ascii_digit() {
            writer.push(if map_digits { lookalike_digit(c).unwrap_or(c) } else { c });
            continue;
        }
        if !is_latin(c) {
            writer.push(c);
            continue;
        }
        match mode {
            Mode::Shape => writer.push(latin_by_shape(c)),
            Mode::Keep => writer.push(c),
            Mode::Sound => {
                let next = |k: usize| cells.get(i - 1 + k).map(|cell| cell.c);
                let (letter, used) = match (c, next(1)) {
                    ('s', Some('h')) if next(2) == Some('c') && next(3) == Some('h') => ('щ', 4),
                    ('s', Some('h')) => ('ш', 2),
                    ('c', Some('h')) => ('ч', 2),
                    ('z', Some('h')) => ('ж', 2),
                    ('k', Some('h')) => ('х', 2),
                    ('t', Some('s')) => ('ц', 2),
                    ('y', Some('a')) => ('я', 2),
                    ('y', Some('u')) => ('ю', 2),
                    ('y', Some('o' | 'e')) => ('е', 2),
                    ('y', _) => {
                        let after_vowel =
                            i >= 2 && cells.get(i - 2).is_some_and(|p| matches!(p.c, 'a' | 'e' | 'o'));
                        (if after_vowel { 'и' } else { 'ы' }, 1)
                    }
                    _ => (latin_by_sound(c), 1),
                };
                writer.push(letter);
                i += used - 1;
            }
        }
    }
    let single = writer.count == 1 && writer.last.is_some_and(is_letter);
    if single { writer.last } else { None }
}

/// Appends characters, keeping a repeated letter once.
struct Writer<'a> {
    out: &'a mut String,
    last: Option<char>,
    count: usize,
}

impl Writer<'_> {
    fn push(&mut self, c: char) {
        if self.last == Some(c) && is_letter(c) {
            return;
        }
        self.out.push(c);
        self.last = Some(c);
        self.count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn the_cyrillic_shortcuts_agree_with_the_standard_library() {
        for c in ('\u{0400}'..='\u{04FF}').filter(|c| !('\u{0482}'..='\u{0489}').contains(c)) {
            assert!(c.is_alphanumeric() && c.is_alphabetic() && !super::is_transparent(c), "{c}");
            assert_eq!(c.to_lowercase().collect::<String>(), super::cyrillic_lowercase(c).to_string(), "{c}");
            assert_eq!(c.is_uppercase(), super::cyrillic_lowercase(c) != c, "{c}");
            assert!(c.is_uppercase() != c.is_lowercase(), "{c} has a case");
            assert_eq!(super::letter_case(c), Some(c.is_uppercase()), "{c}");
        }
        for c in '\u{0482}'..='\u{0489}' {
            assert!(!super::is_letter(c) && c.is_alphabetic() == super::is_letter(c), "{c}");
        }
    }

    #[test]
    fn folds_cyrillic_and_kazakh() {
        assert_eq!(normalize("Ёлка ЭТО"), "елка ето");
        assert_eq!(normalize("Қалай? Үйіне, өңір, ғимарат, һәм"), "калаи уине онир гимарат хам");
        assert_eq!(normalize("Сколько подъезд"), "сколко подезд");
    }

    #[test]
    fn transliterates_latin_words_and_maps_lookalikes_in_cyrillic_ones() {
        assert_eq!(normalize("kupite"), "купите");
        assert_eq!(normalize("кyпитe"), "купите");
        assert_eq!(normalize("shchuka zhol rakhmet tsentr"), "щука жол рахмет центр");
        assert_eq!(normalize("qalai qashan ne üşin"), "калаи кашан не ушин");
        assert_eq!(normalize("yarmarka yunost moy"), "ярмарка юност мои");
        assert_eq!(normalize("HET CEKC"), "нет секс");
        assert_eq!(normalize("Het"), "хет");
    }

    #[test]
    fn digits_become_letters_only_in_words_of_lookalikes() {
        assert_eq!(normalize("4то к0мм3нт"), "что комзнт");
        assert_eq!(normalize("10км 2024 100 3"), "10км 2024 100 3");
    }

    #[test]
    fn separators_inside_a_spelled_word_are_dropped() {
        for form in ["к.у.п.и.т.е", "к у п и т е", "к-у-п-и-т-е", "к_у_п_и_т_е", "k у п и т е", "КУПИИИТЕ"]
        {
            assert_eq!(normalize(form), "купите", "{form}");
        }
        assert_eq!(normalize("онлайн-казино"), "онлаин казино");
        assert_eq!(normalize("я и ты"), "я и ты");
        assert_eq!(normalize("  Привет,   мир!  "), "привет мир");
        assert_eq!(normalize("ку\u{200B}пите"), "купите");
    }

    #[test]
    fn compatibility_forms_and_marks() {
        assert_eq!(normalize("ｋｕｐｉｔｅ"), "купите");
        assert_eq!(normalize("𝐤𝐮𝐩𝐢𝐭𝐞"), "купите");
        assert_eq!(normalize("к\u{0337}у\u{0337}пите"), "купите");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("!!! ???"), "");
    }
}
